package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/coldstart"
	"github.com/crmbridge/crmbridge/shared/route"
)

// Goals of issue 12 for start-up.
const (
	coldRatioGoal = 1.10     // × hello+SDK
	rssGoal       = 18 << 20 // bytes
	sizeGoal      = 12 << 20 // bytes, each bootstrap
)

// firstEvents are requests each function answers completely without an
// AWS call (a JSON 4xx from its own parsing and routing), so the cold start
// times the function's own start and first answer, not an emulator's. The
// hello-worlds answer any event with a fixed 200.
var firstEvents = map[string]string{
	route.SourceInbound:     "events/source-inbound/unknown-source.json",
	route.WebhookMessage:    "events/webhook-message/action-at-message-route.json",
	route.WebhookEscalation: "events/webhook-escalation/send-message-at-escalation-route.json",
	route.WebhookAction:     "events/webhook-action/converse-event-at-action-route.json",
}

// functionEnv is template.yaml's environment of a function.
func functionEnv(fn string) []string {
	const queues = "https://sqs.us-east-1.amazonaws.com/123456789012/crmbridge-"
	env := []string{"TENANTS_TABLE=crmbridge-tenants", "STATE_TABLE=crmbridge-state", "LOG_LEVEL=INFO", "STAGE=prod", "DEAD_LETTER_TTL_DAYS=14", "METRICS_NAMESPACE=crmbridge/crmbridge"}
	switch fn {
	case route.SourceInbound:
		env = append(env, "INBOUND_QUEUE_URL="+queues+"inbound.fifo", "OUTBOUND_QUEUE_URL="+queues+"outbound.fifo")
	case route.WebhookMessage:
		env = append(env, "ESCALATION_FUNCTION=crmbridge-webhook-escalation:live", "ACTION_FUNCTION=crmbridge-webhook-action:live", "OUTBOUND_QUEUE_URL="+queues+"outbound.fifo")
	case route.WebhookEscalation:
		env = append(env, "OUTBOUND_QUEUE_URL="+queues+"outbound.fifo")
	}
	return env
}

func answerStatus(want func(int) bool) func([]byte) error {
	return func(b []byte) error {
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(b, &resp); err != nil {
			return fmt.Errorf("not an HTTP API response: %w", err)
		}
		if !want(resp.StatusCode) {
			return fmt.Errorf("status %d: %s", resp.StatusCode, resp.Body)
		}
		return nil
	}
}

func coldStep(ctx context.Context, o options, bins *binaries, r *report) error {
	ok200 := answerStatus(func(s int) bool { return s == 200 })
	is4xx := answerStatus(func(s int) bool { return s >= 400 && s < 500 })
	helloEvent, err := os.ReadFile(firstEvents[route.SourceInbound])
	if err != nil {
		return err
	}
	targets := []coldstart.Target{
		{Name: hello, Path: bins.host[hello], Event: helloEvent, Check: ok200},
		{Name: helloSDK, Path: bins.host[helloSDK], Event: helloEvent, Check: ok200},
	}
	if o.extra != "" {
		for _, kv := range strings.Split(o.extra, ",") {
			name, path, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("-extra: %q is not name=path", kv)
			}
			targets = append(targets, coldstart.Target{Name: name, Path: path, Event: helloEvent, Check: ok200})
		}
	}
	for _, fn := range route.Functions {
		ev, err := os.ReadFile(firstEvents[fn])
		if err != nil {
			return err
		}
		targets = append(targets, coldstart.Target{Name: fn, Path: bins.host[fn], Env: functionEnv(fn), Event: ev, Check: is4xx})
		if o.compare != "" {
			p := filepath.Join(o.compare, fn, "bootstrap")
			if _, err := os.Stat(p); err != nil {
				return fmt.Errorf("-compare: %w", err)
			}
			targets = append(targets, coldstart.Target{Name: fn + " (compare)", Path: p, Env: functionEnv(fn), Event: ev, Check: is4xx})
		}
	}
	fmt.Printf("cold start: %d targets × %d rounds (+1 warm-up), %d warm invocations each\n", len(targets), o.rounds, o.warm)
	samples, err := coldstart.Rounds(ctx, targets, o.rounds, o.warm, func(round int) {
		if round%5 == 0 {
			fmt.Printf("  round %d/%d\n", round, o.rounds)
		}
	})
	if err != nil {
		return err
	}
	sums := make([]coldstart.Summary, len(targets))
	for i := range targets {
		sums[i] = coldstart.Summarize(samples[i])
	}
	base := sums[1] // hello+SDK
	// paired is each target's median of its per-round ratios to
	// hello+SDK's cold start in the same round: the machine's slow and
	// quick moments, which a round shares, cancel out.
	paired := make([]float64, len(targets))
	for i := range targets {
		rs := make([]float64, 0, len(samples[i]))
		for j, sm := range samples[i] {
			if j < len(samples[1]) && samples[1][j].Cold > 0 {
				rs = append(rs, ratio(sm.Cold, samples[1][j].Cold))
			}
		}
		paired[i] = median(rs)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Each target started %d times, interleaved with the others (one uncounted warm-up round first), serving the Lambda Runtime API from this driver in a clean environment (Lambda's variables, dummy credentials; no AWS_CA_BUNDLE, profile, endpoint or proxy). ", sums[0].N)
	b.WriteString("*init*: start → first `GET /next`; *cold*: start → first answer (an event each function answers without an AWS call); *init CPU*: CPU time used by then (all threads); *warm*: median of the warm Runtime API round trips; RSS after them. Medians; cold min–max in brackets. Ratios are to hello+SDK in the same rounds: of the medians, and *paired*, the median of the per-round ratios (the goal's figure: a round's target and hello+SDK start moments apart, so the machine's load, which moves the medians from run to run, largely cancels). MB are 2^20 bytes.\n\n")
	b.WriteString("| target | init ms | cold ms [min–max] | cold ÷ hello+SDK | paired | init CPU ms | init CPU ÷ hello+SDK | warm µs | RSS MB | peak RSS MB | size MB (host) | size MB (arm64) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for i, t := range targets {
		s := sums[i]
		arm := "–"
		if p, ok := bins.arm64[t.Name]; ok {
			arm = mb(fileSize(p))
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.2f [%.1f–%.1f] | %.2f | %.2f | %.2f | %.2f | %.0f | %s | %s | %s | %s |\n",
			t.Name, ms(s.Init), ms(s.Cold), ms(s.ColdMin), ms(s.ColdMax), ratio(s.Cold, base.Cold), paired[i],
			ms(s.InitCPU), ratio(s.InitCPU, base.InitCPU), float64(s.Warm)/float64(time.Microsecond),
			mb(s.RSS), mb(s.HWM), mb(fileSize(t.Path)), arm)
	}
	r.section("Cold start", b.String())
	for i, t := range targets {
		if strings.HasSuffix(t.Name, "(compare)") || t.Name == hello || t.Name == helloSDK {
			continue
		}
		s := sums[i]
		cr := paired[i]
		cpu := ratio(s.InitCPU, base.InitCPU)
		r.goal(t.Name+" cold start", fmt.Sprintf("%.2f× hello+SDK, paired (medians %.2f vs %.2f ms: %.2f×); init CPU %.2f×", cr, ms(s.Cold), ms(base.Cold), ratio(s.Cold, base.Cold), cpu), fmt.Sprintf("≤ %.2f×", coldRatioGoal), cr <= coldRatioGoal)
		r.goal(t.Name+" RSS", mb(s.HWM)+" MB peak", "≤ 18 MB", s.HWM <= rssGoal)
		// The deployed bootstrap is the linux/arm64 one (template.yaml);
		// the host build, which the cold start times, is shown beside it.
		arm := fileSize(bins.arm64[t.Name])
		r.goal(t.Name+" bootstrap size", fmt.Sprintf("%s MB as deployed (arm64; %s MB amd64)", mb(arm), mb(fileSize(t.Path))), "≤ 12 MB", arm <= sizeGoal)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func mb(n int64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}
