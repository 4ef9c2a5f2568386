#!/usr/bin/perl
# The plugin against the appliance's own S3 gateway (src/main.ts serve), started here on
# 127.0.0.1 with port 0 for every listener.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON;
use Test::More;

use PluginSuite;
use S3Test;

my $srv = S3Test::start_gateway();
$srv->{checks_signatures} = 1;
$srv->{checks_region} = 1;
eval { PluginSuite::run($srv, more => \&PluginSuite::rgw_extras) };
fail("suite died: $@") if $@;
$srv->{stop}->();
done_testing();
