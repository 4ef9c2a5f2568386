package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

func main() {
	ctx := context.Background()
	endpoint, bucket := os.Getenv("ENDPOINT"), os.Getenv("BUCKET")
	client := s3.New(s3.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		EndpointResolver: s3.EndpointResolverFromURL(endpoint),
		UsePathStyle:     true,
	})
	out := map[string]interface{}{}

	_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("go/v2/small.txt"), Body: bytes.NewReader([]byte("hello from go v2")),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"owner": "ops"}, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	must(err, "put")
	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("go/v2/empty"), Body: bytes.NewReader(nil)})
	must(err, "put empty")
	get, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("go/v2/small.txt"), ChecksumMode: types.ChecksumModeEnabled})
	must(err, "get")
	body, _ := io.ReadAll(get.Body)
	out["small"] = []interface{}{string(body), get.Metadata["owner"], aws.ToString(get.ContentType), aws.ToString(get.ChecksumCRC32) != ""}
	rng, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("go/v2/small.txt"), Range: aws.String("bytes=6-9")})
	must(err, "range")
	rb, _ := io.ReadAll(rng.Body)
	out["range"] = string(rb)

	data := make([]byte, 17*1024*1024+5)
	rand.Read(data)
	up := manager.NewUploader(client, func(u *manager.Uploader) { u.PartSize = 5 * 1024 * 1024; u.Concurrency = 3 })
	_, err = up.Upload(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("go/v2/big.bin"), Body: bytes.NewReader(data)})
	must(err, "upload")
	down := manager.NewDownloader(client, func(d *manager.Downloader) { d.PartSize = 4 * 1024 * 1024; d.Concurrency = 4 })
	buf := manager.NewWriteAtBuffer(nil)
	n, err := down.Download(ctx, buf, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("go/v2/big.bin")})
	must(err, "download")
	out["big"] = []interface{}{n, sha256.Sum256(buf.Bytes()) == sha256.Sum256(data)}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("go/v2/big.bin")})
	must(err, "head")
	out["big_etag"] = aws.ToString(head.ETag)

	_, err = client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("go/v2/copy.txt"), CopySource: aws.String(bucket + "/go/v2/small.txt")})
	must(err, "copy")
	presigner := s3.NewPresignClient(client)
	ps, err := presigner.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("go/v2/copy.txt")}, s3.WithPresignExpires(time.Minute))
	must(err, "presign")
	res, err := http.Get(ps.URL)
	must(err, "presigned get")
	pb, _ := io.ReadAll(res.Body)
	out["presigned"] = string(pb)

	var keys []string
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("go/v2/"), MaxKeys: 2})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		must(err, "list")
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	out["keys"] = keys
	var ids []types.ObjectIdentifier
	for _, k := range keys {
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
	}
	del, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &bucket, Delete: &types.Delete{Objects: ids}})
	must(err, "delete objects")
	out["deleted"] = len(del.Deleted)
	_, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("go/v2/small.txt")})
	var nsk *types.NoSuchKey
	out["missing"] = err != nil && errors.As(err, &nsk)
	j, _ := json.Marshal(out)
	fmt.Println(string(j))
}
