package awsconf

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// fault is what the fake service does with one request.
type fault int

const (
	answer    fault = iota // a complete answer
	drop                   // close the connection without answering
	truncate               // headers and half the body, then close
	closeBody              // headers, then close before any body byte
)

// flaky is a raw TCP service that plays a script of faults, one per
// request, then answers. Each connection serves one request, as
// moto_server does (it answers every request with Connection: close).
type flaky struct {
	ln     net.Listener
	body   string
	mu     sync.Mutex
	script []fault
	seen   []string // X-Amz-Target of each request
	wg     sync.WaitGroup
}

func newFlaky(t *testing.T, body string, script ...fault) *flaky {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &flaky{ln: ln, body: body, script: script}
	f.wg.Go(f.serve)
	t.Cleanup(func() {
		ln.Close()
		f.wg.Wait()
	})
	return f
}

func (f *flaky) url() string { return "http://" + f.ln.Addr().String() }

func (f *flaky) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

func (f *flaky) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Go(func() { f.handle(c) })
	}
}

func (f *flaky) handle(c net.Conn) {
	defer c.Close()
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, req.Body)
	f.mu.Lock()
	f.seen = append(f.seen, req.Header.Get("X-Amz-Target"))
	next := answer
	if len(f.script) > 0 {
		next, f.script = f.script[0], f.script[1:]
	}
	f.mu.Unlock()
	head := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(f.body))
	switch next {
	case drop:
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, as from a crashed server
		}
	case truncate:
		_, _ = io.WriteString(c, head+f.body[:len(f.body)/2])
	case closeBody:
		_, _ = io.WriteString(c, head)
	default:
		_, _ = io.WriteString(c, head+f.body)
	}
}

// TestRetriesBrokenConnections: every way a connection can break before or
// during an answer is retried, up to MaxAttempts, by both the functions'
// and the local retryer; without the cut-short rule a truncated answer
// fails at once.
func TestRetriesBrokenConnections(t *testing.T) {
	tests := []struct {
		name     string
		script   []fault
		retryer  func() aws.Retryer
		wantErr  bool
		attempts int
	}{
		{name: "dropped, then answered", script: []fault{drop}, attempts: 2},
		{name: "closed before the body, then answered", script: []fault{closeBody}, attempts: 2},
		{name: "truncated, then answered", script: []fault{truncate}, attempts: 2},
		{name: "two failures, then answered", script: []fault{drop, truncate}, attempts: 3},
		{name: "broken every time", script: []fault{drop, truncate, drop}, attempts: MaxAttempts, wantErr: true},
		{name: "functions' retryer", script: []fault{truncate}, attempts: 2, retryer: func() aws.Retryer { return NewRetryer(false) }},
		{name: "standard mode alone gives up on a truncated answer", script: []fault{truncate}, attempts: 1, wantErr: true,
			retryer: func() aws.Retryer { return retry.NewStandard() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFlaky(t, `{"TableNames":["a"]}`, tt.script...)
			cfg, err := Local(context.Background(), srv.url())
			if err != nil {
				t.Fatal(err)
			}
			if tt.retryer != nil {
				cfg.Retryer = tt.retryer
			}
			out, err := dynamodb.NewFromConfig(cfg).ListTables(context.Background(), &dynamodb.ListTablesInput{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (len(out.TableNames) != 1 || out.TableNames[0] != "a") {
				t.Errorf("answer %+v", out.TableNames)
			}
			if got := srv.requests(); len(got) != tt.attempts {
				t.Errorf("%d requests, want %d", len(got), tt.attempts)
			}
		})
	}
}

// TestLoadEndpoints: the functions find moto_server through
// AWS_ENDPOINT_URL and the SQS emulator through AWS_ENDPOINT_URL_SQS.
func TestLoadEndpoints(t *testing.T) {
	ddb := newFlaky(t, `{"TableNames":[]}`)
	q := newFlaky(t, `{"QueueUrls":[]}`)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": ddb.url(), "AWS_ENDPOINT_URL_SQS": q.url(), "AWS_REGION": Region,
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
	} {
		t.Setenv(k, v)
	}
	cfg, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Fatal(err)
	}
	if got := ddb.requests(); len(got) != 1 || !strings.HasPrefix(got[0], "DynamoDB_") {
		t.Errorf("DynamoDB endpoint saw %q", got)
	}
	if got := q.requests(); len(got) != 1 || got[0] != "AmazonSQS.ListQueues" {
		t.Errorf("SQS endpoint saw %q", got)
	}
}

func TestCutShortOnlyTruncation(t *testing.T) {
	if cutShort(fmt.Errorf("decode: %w", io.ErrUnexpectedEOF)) != aws.TrueTernary {
		t.Error("a truncated answer is not retryable")
	}
	if cutShort(errors.New("ValidationException")) != aws.UnknownTernary {
		t.Error("another error is classified")
	}
}
