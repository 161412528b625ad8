// Command s3check runs Loki's own S3 object client, from the Go module of the Loki release the
// loki role pins (github.com/grafana/loki/v3 v3.5.3), against a real S3-compatible server, with
// the storage settings of a configuration file the role rendered. It does not run Loki: it
// reads the file the way Loki does and then does with the client what Loki's chunk store, TSDB
// shipper and compactor do with it.
//
//	s3check -config /path/to/loki.yml
//	s3check -config /path/to/loki.yml -create-bucket   (test setup: Loki never creates its bucket)
//
// The credentials come from the environment, as systemd gives them to Loki from the role's
// environment file (the caller sets them). What it does, and where Loki does the same:
//
//  1. Expands the environment references of the whole file, then parses it: like
//     pkg/util/cfg/files.go (YAML with expandEnvVars: github.com/drone/envsubst EvalEnv, then
//     gopkg.in/yaml.v2).
//  2. Takes storage_config.aws and unmarshals it strictly (yaml.UnmarshalStrict, unknown keys
//     refused) into Loki's aws.StorageConfig with its flag defaults registered first, as Loki's
//     config loading does, and runs its Validate().
//  3. Builds the client with aws.NewS3ObjectClient (pkg/storage/chunk/client/aws/
//     s3_storage_client.go: endpoint, insecure, region, path style, static credentials, CA file
//     and insecure_skip_verify are applied in buildS3Client) and puts, checks, lists, reads back
//     and deletes objects named like Loki's: a chunk under the tenant's directory, a TSDB index
//     file under index/<table>/<tenant>/, and the compactor's delete requests database.
//
// It prints one JSON object (what it did, or the error) and exits 0 only when every step worked.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go/service/s3"
	"github.com/drone/envsubst"
	"gopkg.in/yaml.v2"

	"github.com/grafana/loki/v3/pkg/storage/chunk/client/aws"
	"github.com/grafana/loki/v3/pkg/storage/chunk/client/hedging"
)

type result struct {
	OK        bool              `json:"ok"`
	Step      string            `json:"step"`
	Error     string            `json:"error,omitempty"`
	Bucket    string            `json:"bucket,omitempty"`
	Endpoint  string            `json:"endpoint,omitempty"`
	PathStyle bool              `json:"path_style"`
	Insecure  bool              `json:"insecure"`
	Region    string            `json:"region,omitempty"`
	CAFile    string            `json:"ca_file,omitempty"`
	Objects   map[string]int    `json:"objects,omitempty"`
	Listed    map[string]string `json:"listed,omitempty"`
	Seconds   float64           `json:"seconds"`
}

func main() {
	configFile := flag.String("config", "", "Loki configuration file rendered by the role")
	createBucket := flag.Bool("create-bucket", false, "only create the bucket the configuration names (test setup)")
	flag.Parse()
	start := time.Now()
	res := run(*configFile, *createBucket)
	res.Seconds = time.Since(start).Seconds()
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	if !res.OK {
		os.Exit(1)
	}
}

func fail(res *result, step string, err error) *result {
	res.Step = step
	res.Error = err.Error()
	return res
}

func run(configFile string, createBucket bool) *result {
	res := &result{}
	raw, err := os.ReadFile(configFile)
	if err != nil {
		return fail(res, "read", err)
	}
	// 1. As pkg/util/cfg/files.go with -config.expand-env=true.
	expanded, err := envsubst.EvalEnv(string(raw))
	if err != nil {
		return fail(res, "expand-env", err)
	}
	var whole struct {
		StorageConfig struct {
			AWS yaml.MapSlice `yaml:"aws"`
		} `yaml:"storage_config"`
	}
	if err := yaml.Unmarshal([]byte(expanded), &whole); err != nil {
		return fail(res, "parse", err)
	}
	if whole.StorageConfig.AWS == nil {
		return fail(res, "parse", fmt.Errorf("no storage_config.aws in %s", configFile))
	}
	block, err := yaml.Marshal(whole.StorageConfig.AWS)
	if err != nil {
		return fail(res, "parse", err)
	}

	// 2. Loki's own configuration type, defaults first, then the block, strictly.
	var cfg aws.StorageConfig
	cfg.RegisterFlags(flag.NewFlagSet("loki", flag.ContinueOnError))
	if err := yaml.UnmarshalStrict(block, &cfg); err != nil {
		return fail(res, "unmarshal-strict", err)
	}
	if err := cfg.Validate(); err != nil {
		return fail(res, "validate", err)
	}
	res.Bucket, res.Endpoint, res.Region = cfg.BucketNames, cfg.Endpoint, cfg.Region
	res.PathStyle, res.Insecure, res.CAFile = cfg.S3ForcePathStyle, cfg.Insecure, cfg.HTTPConfig.CAFile

	if createBucket {
		// Test setup, not something Loki does: the same client settings, aws-sdk-go's CreateBucket.
		client, err := aws.NewS3ObjectClient(cfg.S3Config, hedging.Config{})
		if err != nil {
			return fail(res, "client", err)
		}
		if _, err := client.S3.CreateBucket(&s3.CreateBucketInput{Bucket: &cfg.BucketNames}); err != nil {
			return fail(res, "create-bucket", err)
		}
		res.OK, res.Step = true, "created"
		return res
	}

	// 3. Loki's own client, used the way the chunk store, the TSDB shipper and the compactor use it.
	client, err := aws.NewS3ObjectClient(cfg.S3Config, hedging.Config{})
	if err != nil {
		return fail(res, "client", err)
	}
	defer client.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	stamp := time.Now().UnixNano()
	objects := map[string][]byte{
		// A chunk: <tenant>/<fingerprint>/<from>:<through>:<checksum> (the ':' delimiter is
		// what chunk_delimiter defaults to).
		fmt.Sprintf("fake/5f3c2a1b9d8e7f60/%x:%x:1a2b3c4d", stamp/1e6, stamp/1e6+60000): bytes.Repeat([]byte("chunk "), 2048),
		// A TSDB index file shipped by an ingester: index/<table>/<tenant>/<name>.tsdb.gz.
		fmt.Sprintf("index/index_%d/fake/1700000000-ingester-1-%d.tsdb.gz", stamp/int64(24*time.Hour), stamp): bytes.Repeat([]byte("index "), 512),
		// The compactor's delete requests database (delete_request_store, under index/).
		"index/delete_requests/delete_requests.gz": []byte("delete requests"),
	}
	keys := make([]string, 0, len(objects))
	for key := range objects {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	res.Objects = map[string]int{}
	res.Listed = map[string]string{}
	for _, key := range keys {
		if err := client.PutObject(ctx, key, bytes.NewReader(objects[key])); err != nil {
			return fail(res, "put "+key, err)
		}
		res.Objects[key] = len(objects[key])
	}
	for _, key := range keys {
		exists, err := client.ObjectExists(ctx, key)
		if err != nil || !exists {
			return fail(res, "exists "+key, fmt.Errorf("exists=%v err=%v", exists, err))
		}
		reader, size, err := client.GetObject(ctx, key)
		if err != nil {
			return fail(res, "get "+key, err)
		}
		body, err := io.ReadAll(reader)
		reader.Close()
		if err != nil {
			return fail(res, "get "+key, err)
		}
		if !bytes.Equal(body, objects[key]) || size != int64(len(body)) {
			return fail(res, "get "+key, fmt.Errorf("read back %d bytes (size %d), wrote %d", len(body), size, len(objects[key])))
		}
	}
	// The shipper lists tables and tenants with a delimiter, the chunk store reads by key.
	for _, prefix := range []string{"index/", "fake/"} {
		found, prefixes, err := client.List(ctx, prefix, "/")
		if err != nil {
			return fail(res, "list "+prefix, err)
		}
		res.Listed[prefix] = fmt.Sprintf("%d objects, %d prefixes", len(found), len(prefixes))
		if len(found)+len(prefixes) == 0 {
			return fail(res, "list "+prefix, fmt.Errorf("nothing listed under %s", prefix))
		}
	}
	for _, key := range keys {
		if err := client.DeleteObject(ctx, key); err != nil {
			return fail(res, "delete "+key, err)
		}
		if exists, err := client.ObjectExists(ctx, key); err != nil || exists {
			return fail(res, "deleted "+key, fmt.Errorf("still exists=%v err=%v", exists, err))
		}
	}
	res.OK = true
	res.Step = "done"
	return res
}
