#!/usr/bin/perl
# The plugin against s3rver (npm), started here on 127.0.0.1, port 0.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use PluginSuite;
use S3Test;

my $srv = S3Test::start_s3rver('pve-s3rver');
eval { PluginSuite::run($srv) };
fail("suite died: $@") if $@;
$srv->{stop}->();
done_testing();
