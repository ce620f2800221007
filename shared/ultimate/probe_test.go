package ultimate

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// Probe: 400 to an empty body means the bot ID and key were accepted; the
// refusals are the Chat API's errors. It sends one request (a 401 one more,
// with the key fetched again).
func TestProbe(t *testing.T) {
	tests := []struct {
		status   int
		want     error
		requests int
	}{
		{400, nil, 1},
		{200, nil, 1},
		{401, ErrUnauthorized, 1},
		{404, ErrBotNotFound, 1},
		{503, ErrUnavailable, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			h := newHarness(t, reply{status: tt.status}, reply{status: tt.status})
			err := h.client.Probe(context.Background(), target)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Probe: %v, want %v", err, tt.want)
			}
			reqs := h.agent.requests()
			if len(reqs) != tt.requests || string(reqs[0].body) != "{}" || reqs[0].path != "/converse/chat" {
				t.Fatalf("requests %+v", reqs)
			}
		})
	}
}
