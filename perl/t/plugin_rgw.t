#!/usr/bin/perl
# The plugin against Ceph RADOS Gateway (../shared/tools/radosgw/start.sh).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use PluginSuite;
use S3Test;

my $srv = S3Test::start_rgw();
eval { PluginSuite::run($srv, more => \&PluginSuite::rgw_extras) };
fail("suite died: $@") if $@;
$srv->{stop}->();
done_testing();
