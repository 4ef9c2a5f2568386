CREATE TABLE `appliance_lease` (
	`id` integer PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`pid` integer NOT NULL,
	`renewed_at` integer NOT NULL
);
