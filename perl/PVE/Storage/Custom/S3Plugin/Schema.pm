package PVE::Storage::Custom::S3Plugin::Schema;

# The storage.cfg schema of type `s3`: the properties this plugin adds to PVE's section config and
# which of all properties a storage of this type takes (fixed ones cannot change after creation).

use strict;
use warnings;

sub properties {
    return {
        endpoint => {
            description => "S3 endpoint host name or IP address (without scheme).",
            type => 'string',
            format => 'address',
        },
        bucket => {
            description => "S3 bucket name.",
            type => 'string',
            pattern => '[a-z0-9][a-z0-9.\-]{1,62}',
        },
        region => {
            description => "S3 region used for request signing.",
            type => 'string',
            default => 'us-east-1',
        },
        prefix => {
            description => "Key prefix inside the bucket, so several clusters can share one bucket.",
            type => 'string',
            pattern => '[^\s]*',
        },
        'path-style' => {
            description => "Use path-style requests instead of virtual-host style.",
            type => 'boolean',
            default => 1,
        },
        'use-ssl' => {
            description => "Use HTTPS.",
            type => 'boolean',
            default => 1,
        },
        'verify-ssl' => {
            description => "Verify the endpoint's TLS certificate.",
            type => 'boolean',
            default => 1,
        },
        'ca-file' => {
            description => "PEM file of the CA certificate(s) that signed the endpoint's certificate "
                . "(default: the node's system CA store).",
            type => 'string',
            pattern => '/\S+',
        },
        'access-key' => {
            description => "S3 access key ID.",
            type => 'string',
        },
        'secret-key' => {
            description => "S3 secret access key.",
            type => 'string',
        },
        'cache-max-size' => {
            description => "Cache size limit in MiB (only uploaded files are evicted).",
            type => 'integer',
            minimum => 0,
        },
        'cache-max-age' => {
            description => "Evict uploaded files not used for this many hours.",
            type => 'integer',
            minimum => 0,
        },
        'multipart-part-size' => {
            description => "Multipart part size in MiB.",
            type => 'integer',
            minimum => 5,
            maximum => 5120,
            default => 64,
        },
        'multipart-concurrency' => {
            description => "Parts transferred in parallel (downloads: 8 when unset).",
            type => 'integer',
            minimum => 1,
            maximum => 32,
            default => 4,
        },
        'transfer-bwlimit' => {
            description => "Transfer bandwidth limit per process in KiB/s.",
            type => 'integer',
            minimum => 1,
        },
        'storage-class' => {
            description => "S3 storage class for new objects.",
            type => 'string',
            pattern => '[A-Z_]+',
        },
        capacity => {
            description => "Capacity reported to PVE in GiB (S3 has no fixed size).",
            type => 'integer',
            minimum => 1,
        },
    };
}

sub options {
    my %opts = map { ($_ => { optional => 1 }) } qw(
        path port region path-style use-ssl verify-ssl fingerprint ca-file access-key secret-key
        cache-max-size cache-max-age multipart-part-size multipart-concurrency transfer-bwlimit
        storage-class capacity content nodes shared disable prune-backups max-protected-backups
    );
    $opts{endpoint} = {};
    $opts{bucket} = { fixed => 1 };
    $opts{prefix} = { optional => 1, fixed => 1 };
    return \%opts;
}

1;
