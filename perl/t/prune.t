#!/usr/bin/perl
# Retention marking, table-driven; expectations worked out by hand from the documented rules.
use strict;
use warnings;

use Test::More;
use Time::Local qw(timelocal);

use PVE::Storage::Custom::S3Plugin::Prune;

sub t { my ($y, $mo, $d, $h, $mi) = @_; return timelocal(0, $mi // 0, $h, $d, $mo - 1, $y) }

my @cases = (
    {
        description => 'keep-last 2 keeps the two newest',
        keep => { 'keep-last' => 2 },
        backups => [[t(2024, 1, 5, 10), 'keep'], [t(2024, 1, 4, 10), 'keep'],
            [t(2024, 1, 3, 10), 'remove'], [t(2024, 1, 2, 10), 'remove']],
    },
    {
        description => 'keep-daily keeps the newest of each day',
        keep => { 'keep-daily' => 2 },
        backups => [[t(2024, 1, 5, 10), 'keep'], [t(2024, 1, 5, 8), 'remove'],
            [t(2024, 1, 4, 10), 'keep'], [t(2024, 1, 3, 10), 'remove']],
    },
    {
        description => 'a day covered by keep-last does not count against keep-daily',
        keep => { 'keep-last' => 1, 'keep-daily' => 2 },
        backups => [[t(2024, 1, 5, 10), 'keep'], [t(2024, 1, 5, 8), 'remove'],
            [t(2024, 1, 4, 10), 'keep'], [t(2024, 1, 3, 10), 'keep'], [t(2024, 1, 2, 10), 'remove']],
    },
    {
        description => 'protected backups are ignored by the counting',
        keep => { 'keep-last' => 1 },
        backups => [[t(2024, 1, 5, 10), 'protected'], [t(2024, 1, 4, 10), 'keep'],
            [t(2024, 1, 3, 10), 'remove']],
    },
    {
        description => 'keep-all keeps everything',
        keep => { 'keep-all' => 1 },
        backups => [[t(2024, 1, 5, 10), 'keep'], [t(2024, 1, 4, 10), 'keep']],
    },
    {
        description => 'all options zero means keep all',
        keep => { 'keep-last' => 0, 'keep-daily' => 0 },
        backups => [[t(2024, 1, 5, 10), 'keep'], [t(2024, 1, 4, 10), 'keep']],
    },
    {
        description => 'keep-weekly uses ISO weeks; keep-monthly skips months already covered',
        keep => { 'keep-weekly' => 1, 'keep-monthly' => 1 },
        backups => [[t(2024, 1, 31, 12), 'keep'], [t(2024, 1, 29, 12), 'remove'],
            [t(2024, 1, 20, 12), 'remove'], [t(2023, 12, 31, 12), 'keep']],
    },
    {
        description => 'keep-hourly stops after N periods',
        keep => { 'keep-hourly' => 2 },
        backups => [[t(2024, 1, 5, 10, 30), 'keep'], [t(2024, 1, 5, 10, 10), 'remove'],
            [t(2024, 1, 5, 9, 50), 'keep'], [t(2024, 1, 5, 8, 0), 'remove']],
    },
    {
        description => 'keep-yearly alone',
        keep => { 'keep-yearly' => 2 },
        backups => [[t(2024, 3, 1, 1), 'keep'], [t(2024, 1, 1, 1), 'remove'],
            [t(2023, 6, 1, 1), 'keep'], [t(2022, 6, 1, 1), 'remove']],
    },
    {
        description => 'input order does not matter',
        keep => { 'keep-last' => 1 },
        backups => [[t(2024, 1, 3, 10), 'remove'], [t(2024, 1, 5, 10), 'keep'],
            [t(2024, 1, 4, 10), 'remove']],
    },
);

for my $c (@cases) {
    my @group = map {
        { ctime => $_->[0], ($_->[1] eq 'protected' ? (mark => 'protected') : ()) }
    } @{ $c->{backups} };
    PVE::Storage::Custom::S3Plugin::Prune::mark_group(\@group, $c->{keep});
    is_deeply([map { $_->{mark} } @group], [map { $_->[1] } @{ $c->{backups} }], $c->{description});
}

done_testing();
