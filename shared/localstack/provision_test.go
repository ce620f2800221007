package localstack_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/motoserver"
)

// lossy applies every request and loses every other answer, as a
// connection that breaks after the request arrived does.
type lossy struct {
	n    atomic.Int64
	lost atomic.Int64
}

func (l *lossy) Do(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && l.n.Add(1)%2 == 1 {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		l.lost.Add(1)
		return nil, errors.New("read tcp: use of closed network connection")
	}
	return resp, err
}

// TestProvisionSurvivesLostAnswers: creating the tables and seeding the
// demo tenant is safe to retry, so the set-up of `make run` and of the
// tests gets through connections that break after the request arrived,
// with the retry policy of shared/awsconf; without retries it fails.
func TestProvisionSurvivesLostAnswers(t *testing.T) {
	ctx := context.Background()
	srv, err := motoserver.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	for _, tt := range []struct {
		name    string
		retries bool
	}{{"with the retry policy", true}, {"without retries", false}} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := srv.Config(ctx)
			if err != nil {
				t.Fatal(err)
			}
			l := &lossy{}
			cfg.HTTPClient = l
			if !tt.retries {
				cfg.RetryMaxAttempts = 1
			}
			db, sm := dynamodb.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
			prefix := map[bool]string{true: "lossy", false: "plain"}[tt.retries]
			err = localstack.CreateTables(ctx, db, prefix+"-tenants", prefix+"-state")
			if err == nil {
				err = localstack.Seed(ctx, db, sm, "../../events/tenant", prefix+"-tenants", nil)
			}
			if !tt.retries {
				if err == nil {
					t.Fatal("set-up without retries survived lost answers: the test proves nothing")
				}
				return
			}
			if err != nil {
				t.Fatalf("set-up: %v (after %d lost answers)", err, l.lost.Load())
			}
			plainCfg, _ := srv.Config(ctx)
			out, err := dynamodb.NewFromConfig(plainCfg).Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(prefix + "-tenants"), Select: ddbtypes.SelectCount})
			if err != nil || out.Count == 0 {
				t.Fatalf("seeded items: %v, %v", out, err)
			}
			t.Logf("%d answers lost, %d items seeded", l.lost.Load(), out.Count)
		})
	}
}
