CREATE TABLE `blockdev_luns` (
	`target_iqn` text NOT NULL,
	`lun` integer NOT NULL,
	`volume_id` text NOT NULL,
	PRIMARY KEY(`target_iqn`, `lun`),
	FOREIGN KEY (`target_iqn`) REFERENCES `blockdev_targets`(`iqn`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`volume_id`) REFERENCES `blockdev_volumes`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `blockdev_luns_volume_id_unique` ON `blockdev_luns` (`volume_id`);--> statement-breakpoint
CREATE TABLE `blockdev_orphan_prefixes` (
	`backend_id` text NOT NULL,
	`bucket` text NOT NULL,
	`prefix` text NOT NULL,
	PRIMARY KEY(`backend_id`, `bucket`, `prefix`)
);
--> statement-breakpoint
CREATE TABLE `blockdev_snapshots` (
	`volume_id` text NOT NULL,
	`name` text NOT NULL,
	`chunks` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`volume_id`, `name`),
	FOREIGN KEY (`volume_id`) REFERENCES `blockdev_volumes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `blockdev_targets` (
	`iqn` text PRIMARY KEY NOT NULL,
	`chap_user` text,
	`chap_secret` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `blockdev_volumes` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`backend_id` text NOT NULL,
	`bucket` text NOT NULL,
	`prefix` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`chunk_size` integer NOT NULL,
	`block_size` integer NOT NULL,
	`parent_id` text,
	`parent_snapshot` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`backend_id`) REFERENCES `backends`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `blockdev_volumes_name_unique` ON `blockdev_volumes` (`name`);