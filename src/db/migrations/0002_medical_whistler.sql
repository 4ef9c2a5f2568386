CREATE TABLE `integrity_checkpoints` (
	`size` integer PRIMARY KEY NOT NULL,
	`root_hash` text NOT NULL,
	`note` text NOT NULL,
	`created_at` integer NOT NULL,
	`anchored_at` integer
);
--> statement-breakpoint
CREATE TABLE `integrity_nodes` (
	`level` integer NOT NULL,
	`idx` integer NOT NULL,
	`hash` text NOT NULL,
	PRIMARY KEY(`level`, `idx`)
);
--> statement-breakpoint
CREATE TABLE `integrity_records` (
	`seq` integer PRIMARY KEY NOT NULL,
	`data` text NOT NULL,
	`hash` text NOT NULL
);
