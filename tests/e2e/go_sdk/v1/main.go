package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/s3"
	"github.com/aws/aws-sdk-go/service/s3/s3manager"
)

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

func main() {
	bucket := os.Getenv("BUCKET")
	sess := session.Must(session.NewSession(&aws.Config{
		Region:           aws.String("us-east-1"),
		Endpoint:         aws.String(os.Getenv("ENDPOINT")),
		S3ForcePathStyle: aws.Bool(true),
		Credentials:      credentials.NewStaticCredentials(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
	}))
	client := s3.New(sess)
	out := map[string]interface{}{}
	_, err := client.PutObject(&s3.PutObjectInput{Bucket: &bucket, Key: aws.String("go/v1/small.txt"), Body: bytes.NewReader([]byte("hello from go v1")),
		Metadata: map[string]*string{"owner": aws.String("ops")}})
	must(err, "put")
	_, err = client.PutObject(&s3.PutObjectInput{Bucket: &bucket, Key: aws.String("go/v1/empty"), Body: bytes.NewReader(nil)})
	must(err, "put empty")
	big := make([]byte, 3*1024*1024) // over 2 MB: sent with Expect: 100-Continue
	rand.Read(big)
	_, err = client.PutObject(&s3.PutObjectInput{Bucket: &bucket, Key: aws.String("go/v1/expect.bin"), Body: bytes.NewReader(big)})
	must(err, "put with expect")
	get, err := client.GetObject(&s3.GetObjectInput{Bucket: &bucket, Key: aws.String("go/v1/small.txt")})
	must(err, "get")
	body, _ := io.ReadAll(get.Body)
	out["small"] = []interface{}{string(body), aws.StringValue(get.Metadata["Owner"])}

	data := make([]byte, 13*1024*1024+3)
	rand.Read(data)
	up := s3manager.NewUploaderWithClient(client, func(u *s3manager.Uploader) { u.PartSize = 5 * 1024 * 1024; u.Concurrency = 3 })
	_, err = up.Upload(&s3manager.UploadInput{Bucket: &bucket, Key: aws.String("go/v1/big.bin"), Body: bytes.NewReader(data)})
	must(err, "upload")
	buf := aws.NewWriteAtBuffer(nil)
	down := s3manager.NewDownloaderWithClient(client, func(d *s3manager.Downloader) { d.PartSize = 4 * 1024 * 1024; d.Concurrency = 4 })
	n, err := down.Download(buf, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("go/v1/big.bin")})
	must(err, "download")
	out["big"] = []interface{}{n, sha256.Sum256(buf.Bytes()) == sha256.Sum256(data)}

	req, _ := client.GetObjectRequest(&s3.GetObjectInput{Bucket: &bucket, Key: aws.String("go/v1/small.txt")})
	url, err := req.Presign(time.Minute)
	must(err, "presign")
	res, err := http.Get(url)
	must(err, "presigned get")
	pb, _ := io.ReadAll(res.Body)
	out["presigned"] = string(pb)

	var keys []string
	err = client.ListObjectsV2Pages(&s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("go/v1/"), MaxKeys: aws.Int64(2)},
		func(p *s3.ListObjectsV2Output, last bool) bool {
			for _, o := range p.Contents {
				keys = append(keys, *o.Key)
			}
			return true
		})
	must(err, "list")
	out["keys"] = keys
	batch := s3manager.NewBatchDeleteWithClient(client)
	iter := s3manager.NewDeleteListIterator(client, &s3.ListObjectsInput{Bucket: &bucket, Prefix: aws.String("go/v1/")})
	must(batch.Delete(aws.BackgroundContext(), iter), "batch delete")
	_, err = client.HeadObject(&s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("go/v1/small.txt")})
	aerr, ok := err.(awserr.RequestFailure)
	out["missing"] = ok && aerr.StatusCode() == 404
	j, _ := json.Marshal(out)
	fmt.Println(string(j))
}
