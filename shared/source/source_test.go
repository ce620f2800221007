package source

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

func TestParsePCID(t *testing.T) {
	tests := []struct {
		in   string
		want Conversation
		bad  bool
	}{
		{in: "generic:acme:c-1", want: Conversation{"generic", "acme", "c-1"}},
		{in: "sunshine:app_1:conv:with:colons", want: Conversation{"sunshine", "app_1", "conv:with:colons"}},
		{in: "twilio:AC123:whatsapp:+15551234567", want: Conversation{"twilio", "AC123", "whatsapp:+15551234567"}},
		{in: "liveperson:a.b@c+d=e-f:x", want: Conversation{"liveperson", "a.b@c+d=e-f", "x"}},
		{in: "generic:acme::", want: Conversation{"generic", "acme", ":"}},
		{in: "generic:acme: ", want: Conversation{"generic", "acme", " "}},
		{in: "", bad: true},
		{in: "generic", bad: true},
		{in: "generic:acme", bad: true},
		{in: "generic:acme:", bad: true},
		{in: ":acme:c", bad: true},
		{in: "generic::c", bad: true},
		{in: "Generic:acme:c", bad: true},
		{in: "gen_eric:acme:c", bad: true},
		{in: "1generic:acme:c", bad: true},
		{in: "generic:ac me:c", bad: true},
		{in: "generic:ac#me:c", bad: true},
		{in: "generic:" + strings.Repeat("a", 129) + ":c", bad: true},
		{in: "618a30beee4e8e87d2f94015", bad: true},
	}
	for _, tt := range tests {
		got, err := ParsePCID(tt.in)
		if tt.bad {
			if !errors.Is(err, ErrBadPCID) || got != (Conversation{}) {
				t.Errorf("ParsePCID(%q) = %+v, %v; want ErrBadPCID", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParsePCID(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if got.PCID() != tt.in {
			t.Errorf("PCID() = %q, want %q", got.PCID(), tt.in)
		}
	}
}

func TestAccountConversation(t *testing.T) {
	a := &Account{Source: &tenant.Source{Source: "generic", Account: "acme"}}
	if got := a.Conversation("c1"); got != (Conversation{"generic", "acme", "c1"}) || got.PCID() != "generic:acme:c1" {
		t.Fatalf("%+v", got)
	}
}

// stub adapters with different capabilities.
type basic struct{ name string }

func (b basic) Name() string { return b.name }
func (b basic) ParseSettings(s json.RawMessage) (any, error) {
	if b.name == "mid" {
		return "parsed " + string(s), nil
	}
	return nil, errors.New("settings of " + b.name + ": " + string(s))
}
func (b basic) ValidateCredentials([]byte) error { return nil }

type sender struct{ basic }

func (sender) Send(context.Context, *Account, Conversation, ultimate.Message, *Progress) error {
	return nil
}

func TestRegistry(t *testing.T) {
	r := NewRegistry(sender{basic{"zeta"}}, basic{"alpha"}, basic{"mid"})
	if got := strings.Join(r.Names(), ","); got != "alpha,mid,zeta" {
		t.Fatalf("Names() = %s, want sorted", got)
	}
	if a, ok := r.Get("alpha"); !ok || a.Name() != "alpha" {
		t.Fatalf("Get(alpha) = %v, %v", a, ok)
	}
	if _, ok := r.Get("nope"); ok {
		t.Fatal("Get(nope) found something")
	}

	s, err := Capability[Sender](r, "zeta")
	if err != nil || s.Name() != "zeta" {
		t.Fatalf("Capability[Sender](zeta) = %v, %v", s, err)
	}
	tests := []struct {
		name string
		call func() error
		want error
		msg  string
	}{
		{name: "unsupported", call: func() error { _, err := Capability[Sender](r, "alpha"); return err }, want: ErrUnsupported, msg: `"alpha": not supported by this source`},
		{name: "unknown", call: func() error { _, err := Capability[Sender](r, "nope"); return err }, want: ErrUnknownSource, msg: `"nope": unknown source`},
		{name: "unknown escalator", call: func() error { _, err := Capability[Escalator](r, ""); return err }, want: ErrUnknownSource, msg: `"": unknown source`},
		{name: "parse unknown", call: func() error { _, err := r.ParseSettings("nope", nil); return err }, want: ErrUnknownSource, msg: `"nope": unknown source (known: alpha, mid, zeta)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.want) || err.Error() != tt.msg {
				t.Fatalf("err %q, want %q wrapping %v", err, tt.msg, tt.want)
			}
		})
	}
	if v, err := r.ParseSettings("mid", json.RawMessage(`{"a":1}`)); err != nil || v != `parsed {"a":1}` {
		t.Fatalf("ParseSettings did not delegate to the adapter: %v %v", v, err)
	}
	if _, err := r.ParseSettings("alpha", json.RawMessage(`{}`)); err == nil || err.Error() != `settings of alpha: {}` {
		t.Fatalf("ParseSettings lost the adapter's error: %v", err)
	}
	// SettingsOf hands out the adapter's type, and names a wiring mistake.
	acct := &Account{Source: &tenant.Source{Source: "mid", Account: "a", Settings: "typed"}}
	if v, err := SettingsOf[string](acct); err != nil || v != "typed" {
		t.Fatalf("SettingsOf = %q, %v", v, err)
	}
	acct.Source.Settings = json.RawMessage(`{}`)
	if _, err := SettingsOf[string](acct); err == nil || !strings.Contains(err.Error(), "account mid/a: settings are json.RawMessage, not the adapter's parsed string") {
		t.Fatalf("SettingsOf of raw settings: %v", err)
	}
	if got := NewRegistry().Names(); len(got) != 0 || got == nil {
		t.Fatalf("empty registry Names() = %#v", got)
	}
}
