ALTER TABLE `buckets` ADD `cors` text;--> statement-breakpoint
ALTER TABLE `buckets` ADD `lifecycle` text;--> statement-breakpoint
ALTER TABLE `buckets` ADD `tags` text;