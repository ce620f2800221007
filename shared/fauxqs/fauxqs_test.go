package fauxqs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/crmbridge/crmbridge/shared/awsconf"
	"github.com/crmbridge/crmbridge/shared/fauxqs"
)

// TestEnv: the variables Env returns are all an SDK client needs, through
// the same loader the functions use.
func TestEnv(t *testing.T) {
	for k, v := range fauxSrv.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // moto_server's; SQS must not use it
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := sqs.NewFromConfig(cfg)
	ctx := context.Background()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("env-check")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(aws.ToString(out.QueueUrl), "/env-check") {
		t.Errorf("queue URL %q", aws.ToString(out.QueueUrl))
	}
}

func TestStopEndsIt(t *testing.T) {
	s, err := fauxqs.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := s.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := sqs.NewFromConfig(cfg)
	if _, err := c.ListQueues(context.Background(), &sqs.ListQueuesInput{}); err != nil {
		t.Fatalf("a running fauxqs: %v", err)
	}
	s.Stop() // returns once the process is gone
	if _, err := c.ListQueues(context.Background(), &sqs.ListQueuesInput{}); err == nil {
		t.Error("fauxqs still answers after Stop")
	}
	s.Stop()
}

func TestInstallChecks(t *testing.T) {
	wrong := t.TempDir()
	pkg := filepath.Join(wrong, "node_modules", "fauxqs")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "package.json"), []byte(`{"name":"fauxqs","version":"2.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, want string
	}{
		{name: "not installed", dir: t.TempDir(), want: "run `make deps`"},
		{name: "another release", dir: wrong, want: "fauxqs 2.0.0 is installed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FAUXQS_DIR", tt.dir)
			s, err := fauxqs.Start(context.Background())
			if err == nil {
				s.Stop()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}
