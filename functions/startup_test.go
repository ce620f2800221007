package functions_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/route"
)

// What a function links and allocates before its first event decides its
// cold start (issue 12; `make bench` times it). Allocations are counted, not
// timed, so this holds on a loaded machine: the bridge's own packages may
// allocate at most initBudget at package init (one package-level regexp
// with a counted repeat such as {1,64} costs 30-120 KB), and no function
// links the SDK's Lambda client (its package init allocates ~0.7 MB) or its
// SQS client (its schemas and endpoints inits cost ~0.35 ms, and ~1 MB of
// binary): webhook-message invokes with shared/forward's signed POST, and
// the queues are called with shared/queue/sqsapi's.
const initBudget = 16 << 10

// sdkClients are the SDK clients no function may link, by the package
// path they and their subpackages (types, schemas, internal/endpoints)
// start with.
var sdkClients = map[string]string{
	"Lambda": "github.com/aws/aws-sdk-go-v2/service/lambda",
	"SQS":    "github.com/aws/aws-sdk-go-v2/service/sqs",
}

func TestStartUpWeight(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bootstraps")
	}
	dir := t.TempDir()
	for _, fn := range route.Functions {
		t.Run(fn, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "./"+fn).Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, dep := range strings.Fields(string(out)) {
				for client, prefix := range sdkClients {
					if dep == prefix || strings.HasPrefix(dep, prefix+"/") {
						t.Errorf("links the SDK's %s client (%s)", client, dep)
					}
				}
			}

			bin := filepath.Join(dir, fn)
			build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "./"+fn)
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := build.CombinedOutput(); err != nil {
				t.Fatalf("build: %v\n%s", err, b)
			}
			// No Runtime API listens at the address: the bootstrap runs its
			// package init and main's set-up, then fails to fetch an event.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			run := exec.CommandContext(ctx, bin)
			run.Env = []string{"GODEBUG=inittrace=1", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:1", "AWS_REGION=us-east-1",
				"AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y", "TENANTS_TABLE=t", "STATE_TABLE=s",
				"ESCALATION_FUNCTION=e", "ACTION_FUNCTION=a"}
			trace, _ := run.CombinedOutput()
			total, seen := 0, 0
			var heavy []string
			sc := bufio.NewScanner(bytes.NewReader(trace))
			for sc.Scan() {
				// init github.com/x/y @1.2 ms, 0.3 ms clock, 12345 bytes, 67 allocs
				f := strings.Fields(sc.Text())
				if len(f) != 11 || f[0] != "init" || f[8] != "bytes," {
					continue
				}
				seen++
				if !strings.HasPrefix(f[1], "github.com/crmbridge/crmbridge/") {
					continue
				}
				n, err := strconv.Atoi(f[7])
				if err != nil {
					t.Fatalf("init trace line %q", sc.Text())
				}
				total += n
				if n > 0 {
					heavy = append(heavy, f[1]+" "+f[7]+" B")
				}
			}
			if seen == 0 {
				t.Fatalf("no init trace in the output: %s", trace)
			}
			if total > initBudget {
				t.Errorf("the bridge's packages allocate %d bytes at init, budget %d: %v", total, initBudget, heavy)
			}
		})
	}
}
