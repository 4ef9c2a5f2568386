/** The handler for each S3 operation (dispatch target of `routes.ts`). @module */
import type { S3Operation } from "../../events/mod.ts";
import type { RequestContext } from "./_context.ts";
import { createBucket } from "./bucket_create.ts";
import { putBucketAcl, putObjectAcl } from "./acl_put.ts";
import { BUCKET_CONFIG_HANDLERS } from "./bucket_config.ts";
import { deleteBucket } from "./bucket_delete.ts";
import { headBucket } from "./bucket_head.ts";
import { listBuckets } from "./bucket_list.ts";
import { BUCKET_SETTING_HANDLERS, FIXED_SETTING_HANDLERS, getObjectAcl } from "./bucket_settings.ts";
import { getBucketLocation } from "./bucket_location.ts";
import { abortMultipartUpload } from "./multipart_abort.ts";
import { completeMultipartUpload } from "./multipart_complete.ts";
import { createMultipartUpload } from "./multipart_create.ts";
import { listParts } from "./multipart_list_parts.ts";
import { listMultipartUploads } from "./multipart_list_uploads.ts";
import { uploadPart } from "./multipart_upload_part.ts";
import { uploadPartCopy } from "./multipart_upload_part_copy.ts";
import { copyObject } from "./object_copy.ts";
import { deleteObject } from "./object_delete.ts";
import { getObject } from "./object_get.ts";
import { getObjectAttributes } from "./object_attributes.ts";
import { headObject } from "./object_head.ts";
import { postObject } from "./object_post.ts";
import { preflight } from "./preflight.ts";
import { putObject } from "./object_put.ts";
import { deleteObjectTagging, getObjectTagging, putObjectTagging } from "./object_tagging.ts";
import { deleteObjects } from "./objects_delete.ts";
import { listObjectsV1 } from "./objects_list_v1.ts";
import { listObjectsV2 } from "./objects_list_v2.ts";
import { listObjectVersions } from "./objects_list_versions.ts";
import type { S3Answer } from "../answer.ts";

export type Handler = (ctx: RequestContext) => Promise<S3Answer>;

export const HANDLERS: Record<Exclude<S3Operation, "Unknown">, Handler> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  DeleteBucket: deleteBucket,
  HeadBucket: headBucket,
  GetBucketLocation: getBucketLocation,
  ListObjects: listObjectsV1,
  ListObjectsV2: listObjectsV2,
  PutObject: putObject,
  PostObject: postObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  DeleteObjects: deleteObjects,
  CopyObject: copyObject,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  UploadPartCopy: uploadPartCopy,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
  ListMultipartUploads: listMultipartUploads,
  ListObjectVersions: listObjectVersions,
  GetObjectAttributes: getObjectAttributes,
  GetObjectAcl: getObjectAcl,
  GetObjectTagging: getObjectTagging,
  PutObjectTagging: putObjectTagging,
  DeleteObjectTagging: deleteObjectTagging,
  PreflightRequest: preflight,
  ...BUCKET_CONFIG_HANDLERS,
  PutBucketAcl: putBucketAcl,
  PutObjectAcl: putObjectAcl,
  ...BUCKET_SETTING_HANDLERS,
  ...FIXED_SETTING_HANDLERS,
};
