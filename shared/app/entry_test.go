package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/route"
)

// One Lambda entry per function serves both of its event sources, told
// apart by the event's shape, as Lambda delivers them.
func TestEntryDispatchesByEventShape(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	entries := e.Deps.Entries(nil)
	ctx := context.Background()
	httpEvent, _ := json.Marshal(apptest.Event("GET", "$default", "/nothing", nil, nil))
	sqsEvent := `{"Records":[{"messageId":"m1","receiptHandle":"rh","body":"not an envelope","attributes":{"ApproximateReceiveCount":"1"},"eventSource":"aws:sqs"}]}`
	tests := []struct {
		function, payload string
		want              string // part of the answer, or of the error
	}{
		{route.SourceInbound, string(httpEvent), `route_not_found`},
		{route.SourceInbound, sqsEvent, `"batchItemFailures":null`}, // kept as a dead letter, deleted
		{route.WebhookMessage, sqsEvent, `"batchItemFailures":null`},
		{route.WebhookAction, sqsEvent, "has no queue"},
		{route.SourceInbound, `{"detail-type":"Scheduled Event"}`, "neither an HTTP API"},
		{route.SourceInbound, `[1,2]`, "neither an HTTP API"},
	}
	for _, tt := range tests {
		out, err := entries[tt.function](ctx, json.RawMessage(tt.payload))
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			b, _ := json.Marshal(out)
			got = string(b)
		}
		if !strings.Contains(got, tt.want) {
			t.Errorf("%s %.40s: %s, want %s", tt.function, tt.payload, got, tt.want)
		}
	}
	if _, err := e.Deps.State.DeadLetter(ctx, "DEAD#inbound#m1"); err != nil {
		t.Fatalf("the unreadable record was not kept: %v", err)
	}
}
