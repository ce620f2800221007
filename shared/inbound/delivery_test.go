package inbound

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/crmbridge/crmbridge/shared/source"
)

func deliveries() []Delivery {
	two := 2
	return []Delivery{
		{Event: source.Event{ID: "e1", Kind: source.Message, Conversation: "c1", Text: "Where is my order? 👍 \"quoted\""}},
		{Event: source.Event{ID: "e2", Kind: source.Started, Conversation: "c2", User: map[string]string{"name": "Ann", "email": "a@example.com"}, Params: map[string]string{}, LastMessage: "hi"}},
		{Event: source.Event{Kind: source.Message, Conversation: "c3", Text: "Choose Pro", CardIndex: &two, Attrs: map[string]string{"k": "v"}}},
		{Event: source.Event{Kind: source.AgentJoined, Conversation: "c4", Agent: source.DeskAgent{Name: "Bo", AvatarURL: "https://example.com/a.png"}, Queue: source.QueueInfo{Position: "3", WaitMinutes: "5"}, MustBeNew: true}},
		{},
	}
}

func TestDecodeDelivery(t *testing.T) {
	for _, want := range deliveries() {
		raw, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var fast Delivery
		if d := (&deliveryReader{newReader(raw)}); !d.delivery(&fast) {
			t.Fatalf("fast path refused what accept writes: %s", raw)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("fast decode of %s = %+v, want %+v", raw, fast, want)
		}
	}
	for _, in := range []string{
		`{"event":{"Conversation":"c","ID":"e","Kind":"message","Text":"x"}}`, // events/ sample
		`{"event":{"kind":"message"}}`,                                        // another case: encoding/json's
		`{"event":{"CardIndex":1.5}}`,                                         // an error
		`{"event":{"User":{"a":null}}}`,
		`{"event":null}`,
		`not json`,
	} {
		var got, want Delivery
		err, wantErr := decodeDelivery([]byte(in), &got), json.Unmarshal([]byte(in), &want)
		if (err != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) && wantErr == nil {
			t.Fatalf("%s: got %+v, %v; encoding/json %+v, %v", in, got, err, want, wantErr)
		}
	}
}

// FuzzDecodeDelivery holds the fast reader to encoding/json.
func FuzzDecodeDelivery(f *testing.F) {
	for _, d := range deliveries() {
		raw, _ := json.Marshal(d)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast Delivery
		d := &deliveryReader{Reader: newReader(raw)}
		if !d.delivery(&fast) {
			return
		}
		var want Delivery
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, raw)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", raw, fast, want)
		}
	})
}
