CREATE TABLE `sync_changes` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`bucket` text NOT NULL,
	`key` text,
	`op` text NOT NULL,
	`etag` text,
	`size` integer,
	`time` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sync_changes_bucket_seq` ON `sync_changes` (`bucket`,`seq`);--> statement-breakpoint
CREATE TABLE `sync_entries` (
	`job_id` text NOT NULL,
	`key` text NOT NULL,
	`from_gen` integer NOT NULL,
	`to_gen` integer,
	`size` integer NOT NULL,
	`etag` text NOT NULL,
	`mirror_etag` text NOT NULL,
	`last_modified` integer NOT NULL,
	`version_key` text,
	PRIMARY KEY(`job_id`, `key`, `from_gen`),
	FOREIGN KEY (`job_id`) REFERENCES `sync_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sync_entries_job_to_gen` ON `sync_entries` (`job_id`,`to_gen`);--> statement-breakpoint
CREATE TABLE `sync_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`source_backend` text NOT NULL,
	`source_bucket` text NOT NULL,
	`source_prefix` text DEFAULT '' NOT NULL,
	`target_backend` text NOT NULL,
	`target_bucket` text NOT NULL,
	`target_prefix` text DEFAULT '' NOT NULL,
	`mode` text NOT NULL,
	`detection` text NOT NULL,
	`interval_seconds` integer,
	`include` text DEFAULT '[]' NOT NULL,
	`exclude` text DEFAULT '[]' NOT NULL,
	`concurrency` integer DEFAULT 8 NOT NULL,
	`bandwidth_limit` integer,
	`keep_last` integer,
	`keep_days` integer,
	`reconcile_seconds` integer DEFAULT 86400 NOT NULL,
	`journal_seq` integer DEFAULT 0 NOT NULL,
	`last_reconcile_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sync_run_items` (
	`run_id` integer NOT NULL,
	`idx` integer NOT NULL,
	`op` text NOT NULL,
	`key` text NOT NULL,
	`size` integer NOT NULL,
	`etag` text,
	`reason` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`error` text,
	PRIMARY KEY(`run_id`, `idx`),
	FOREIGN KEY (`run_id`) REFERENCES `sync_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `sync_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`job_id` text NOT NULL,
	`generation` integer NOT NULL,
	`status` text NOT NULL,
	`detection` text NOT NULL,
	`journal_seq` integer DEFAULT 0 NOT NULL,
	`objects_total` integer DEFAULT 0 NOT NULL,
	`bytes_total` integer DEFAULT 0 NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	`error` text,
	`expired` integer DEFAULT false NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`job_id`) REFERENCES `sync_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sync_runs_job_generation` ON `sync_runs` (`job_id`,`generation`);