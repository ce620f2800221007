package inbound

import (
	"encoding/json"
	"testing"
)

func TestAcceptedBodyIsEncodingJSON(t *testing.T) {
	for _, m := range []map[string]int{{}, {OutcomeQueued: 1}, {"b": 2, "a": 1, OutcomeInvalid: 3}, {"needs \"escaping\" <&>": 1, "x": 2}} {
		want, _ := json.Marshal(map[string]any{"status": "ok", "events": m})
		if got := acceptedBody(m); string(got) != string(want) {
			t.Errorf("acceptedBody(%v) = %s, want %s", m, got, want)
		}
	}
}
