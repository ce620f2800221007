package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fakeDB is a GetItemAPI over a map of items, counting calls per key.
type fakeDB struct {
	mu    sync.Mutex
	items map[string]Item // pk + "/" + sk
	calls map[string]int
	table string
	err   error
}

func newFakeDB(t *testing.T, items ...string) *fakeDB {
	db := &fakeDB{items: map[string]Item{}, calls: map[string]int{}}
	for _, s := range items {
		it := item(t, s)
		pk, sk, _ := KeysOf(it)
		db.items[Name(pk, sk)] = it
	}
	return db
}

func (db *fakeDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	pk, _ := str(in.Key["pk"])
	sk, _ := str(in.Key["sk"])
	db.mu.Lock()
	defer db.mu.Unlock()
	db.calls[Name(pk, sk)]++
	db.table = *in.TableName
	if db.err != nil {
		return nil, db.err
	}
	return &dynamodb.GetItemOutput{Item: db.items[Name(pk, sk)]}, nil
}

func (db *fakeDB) count(key string) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.calls[key]
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newLoader(db GetItemAPI, c *fakeClock) *Loader {
	return &Loader{DB: db, Table: "Tenants", Now: c.now}
}

func TestLoaderCachesFound(t *testing.T) {
	db := newFakeDB(t, sourceItem, agentItem, httpActionItem)
	c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newLoader(db, c)
	ctx := context.Background()
	for range 3 {
		s, err := l.Source(ctx, "generic", "acme")
		if err != nil || s.AgentID != "618a30beee4e8e87d2f94015" {
			t.Fatalf("Source = %+v, %v", s, err)
		}
		a, err := l.Agent(ctx, "618a30beee4e8e87d2f94015")
		if err != nil || a.Secret != "crmbridge/agents/618a30beee4e8e87d2f94015" {
			t.Fatalf("Agent = %+v, %v", a, err)
		}
		act, err := l.Action(ctx, "618a30beee4e8e87d2f94015", "lookupOrder")
		if err != nil || act.Kind != ActionHTTP {
			t.Fatalf("Action = %+v, %v", act, err)
		}
	}
	for _, k := range []string{"SOURCE#generic#acme/CONFIG", "AGENT#618a30beee4e8e87d2f94015/CONFIG", "AGENT#618a30beee4e8e87d2f94015/ACTION#lookupOrder"} {
		if n := db.count(k); n != 1 {
			t.Errorf("%s read %d times, want 1", k, n)
		}
	}
	if db.table != "Tenants" {
		t.Errorf("table %q", db.table)
	}
}

func TestLoaderTTL(t *testing.T) {
	tests := []struct {
		name    string
		ttl     time.Duration
		advance time.Duration
		reads   int
	}{
		{name: "default ttl, fresh", advance: 59 * time.Second, reads: 1},
		{name: "default ttl, just expired", advance: 60 * time.Second, reads: 2},
		{name: "custom ttl, fresh", ttl: 5 * time.Second, advance: 4 * time.Second, reads: 1},
		{name: "custom ttl, expired", ttl: 5 * time.Second, advance: 6 * time.Second, reads: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newFakeDB(t, agentItem)
			c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			l := newLoader(db, c)
			l.TTL = tt.ttl
			id := "618a30beee4e8e87d2f94015"
			if _, err := l.Agent(context.Background(), id); err != nil {
				t.Fatal(err)
			}
			c.t = c.t.Add(tt.advance)
			if _, err := l.Agent(context.Background(), id); err != nil {
				t.Fatal(err)
			}
			if n := db.count("AGENT#" + id + "/CONFIG"); n != tt.reads {
				t.Fatalf("%d reads, want %d", n, tt.reads)
			}
		})
	}
}

func TestLoaderCachesNotFound(t *testing.T) {
	db := newFakeDB(t)
	c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newLoader(db, c)
	for range 3 {
		_, err := l.Source(context.Background(), "generic", "nobody")
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "SOURCE#generic#nobody/CONFIG") {
			t.Fatalf("err %v", err)
		}
	}
	if n := db.count("SOURCE#generic#nobody/CONFIG"); n != 1 {
		t.Fatalf("%d reads, want 1", n)
	}
	// Once configured, the item shows up after the miss TTL (shorter than
	// the TTL of found items).
	it := item(t, sourceItem)
	it["pk"] = &types.AttributeValueMemberS{Value: "SOURCE#generic#nobody"}
	it["credentialsSecret"] = &types.AttributeValueMemberS{Value: "crmbridge/sources/generic/nobody"}
	db.items["SOURCE#generic#nobody/CONFIG"] = it
	c.t = c.t.Add(DefaultMissTTL - time.Second)
	if _, err := l.Source(context.Background(), "generic", "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err %v: the miss should still be cached", err)
	}
	c.t = c.t.Add(time.Second)
	if s, err := l.Source(context.Background(), "generic", "nobody"); err != nil || s.Account != "nobody" {
		t.Fatalf("after TTL: %+v, %v", s, err)
	}
}

func TestLoaderCachesInvalid(t *testing.T) {
	db := newFakeDB(t, strings.Replace(agentItem, `"scheme": {"S": "hmac-sha256"}`, `"scheme": {"S": "magic"}`, 1))
	c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newLoader(db, c)
	for range 3 {
		_, err := l.Agent(context.Background(), "618a30beee4e8e87d2f94015")
		var te *Error
		if !errors.As(err, &te) || te.Field != "webhookAuth" {
			t.Fatalf("err %v", err)
		}
	}
	if n := db.count("AGENT#618a30beee4e8e87d2f94015/CONFIG"); n != 1 {
		t.Fatalf("%d reads, want 1", n)
	}
}

func TestLoaderDoesNotCacheTransientErrors(t *testing.T) {
	db := newFakeDB(t, agentItem)
	c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newLoader(db, c)
	boom := errors.New("ProvisionedThroughputExceededException")
	db.err = boom
	for range 2 {
		_, err := l.Agent(context.Background(), "618a30beee4e8e87d2f94015")
		if !errors.Is(err, boom) || errors.Is(err, ErrNotFound) {
			t.Fatalf("err %v", err)
		}
		var te *Error
		if errors.As(err, &te) {
			t.Fatalf("a read failure is not an item error: %v", err)
		}
	}
	db.err = nil
	if _, err := l.Agent(context.Background(), "618a30beee4e8e87d2f94015"); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if n := db.count("AGENT#618a30beee4e8e87d2f94015/CONFIG"); n != 3 {
		t.Fatalf("%d reads, want 3", n)
	}
}

func TestLoaderHooks(t *testing.T) {
	db := newFakeDB(t, sourceItem, agentItem, httpActionItem)
	c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newLoader(db, c)
	var calls []string
	l.Hooks = Hooks{
		Settings: func(source string, _ json.RawMessage) (any, error) {
			calls = append(calls, "settings:"+source)
			return nil, errors.New("settings refused")
		},
		Teams: func(json.RawMessage) (any, error) {
			calls = append(calls, "teams")
			return nil, errors.New("teams refused")
		},
		Action: func(a *Action, _ json.RawMessage) (any, error) {
			calls = append(calls, "action:"+a.Name)
			return nil, errors.New("action refused")
		},
	}
	ctx := context.Background()
	_, err := l.Source(ctx, "generic", "acme")
	wantItemError(t, err, "SOURCE#generic#acme/CONFIG", "settings", "settings refused")
	_, err = l.Agent(ctx, "618a30beee4e8e87d2f94015")
	wantItemError(t, err, "AGENT#618a30beee4e8e87d2f94015/CONFIG", "teams", "teams refused")
	_, err = l.Action(ctx, "618a30beee4e8e87d2f94015", "lookupOrder")
	wantItemError(t, err, "AGENT#618a30beee4e8e87d2f94015/ACTION#lookupOrder", "", "action refused")
	// Errors are cached with the item: the hooks ran once each.
	_, _ = l.Source(ctx, "generic", "acme")
	if strings.Join(calls, ",") != "settings:generic,teams,action:lookupOrder" {
		t.Fatalf("hook calls %v", calls)
	}
}

// The hooks' parsed values are what the cached items carry: parsed once,
// not per call.
func TestLoaderCachesParsedValues(t *testing.T) {
	db := newFakeDB(t, sourceItem, agentItem, httpActionItem)
	l := newLoader(db, &fakeClock{t: time.Unix(1_700_000_000, 0)})
	parses := map[string]int{}
	type typed struct{ kind, raw string }
	l.Hooks = Hooks{
		Settings: func(_ string, raw json.RawMessage) (any, error) {
			parses["settings"]++
			return &typed{"settings", string(raw)}, nil
		},
		Teams: func(raw json.RawMessage) (any, error) { parses["teams"]++; return &typed{"teams", string(raw)}, nil },
		Action: func(_ *Action, raw json.RawMessage) (any, error) {
			parses["action"]++
			return &typed{"action", string(raw)}, nil
		},
	}
	ctx := context.Background()
	const id = "618a30beee4e8e87d2f94015"
	for range 3 {
		s, err := l.Source(ctx, "generic", "acme")
		if err != nil || s.Settings.(*typed).kind != "settings" {
			t.Fatalf("%+v %v", s, err)
		}
		a, err := l.Agent(ctx, id)
		if err != nil || a.Teams.(*typed).raw != `{"default":{"timezone":"Europe/Berlin"}}` {
			t.Fatalf("%+v %v", a, err)
		}
		act, err := l.Action(ctx, id, "lookupOrder")
		if err != nil || act.Spec.(*typed).kind != "action" {
			t.Fatalf("%+v %v", act, err)
		}
	}
	if parses["settings"] != 1 || parses["teams"] != 1 || parses["action"] != 1 {
		t.Fatalf("parses %v, want one each", parses)
	}
}

func TestLoaderConcurrent(t *testing.T) {
	db := newFakeDB(t, agentItem)
	l := &Loader{DB: db, Table: "Tenants"} // real clock
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Agent(context.Background(), "618a30beee4e8e87d2f94015"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// fakeSecrets is a SecretStore over a map, recording calls. Parsed
// parses on every call, so parse errors show.
type fakeSecrets struct {
	values      map[string]string
	gets        []string
	invalidated []string
}

func (s *fakeSecrets) Get(_ context.Context, name string) ([]byte, error) {
	s.gets = append(s.gets, name)
	v, ok := s.values[name]
	if !ok {
		return nil, errors.New("ResourceNotFoundException: " + name)
	}
	return []byte(v), nil
}

func (s *fakeSecrets) Parsed(ctx context.Context, name string, parse func([]byte) (any, error)) (any, error) {
	raw, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return parse(raw)
}

func (s *fakeSecrets) Invalidate(name string) { s.invalidated = append(s.invalidated, name) }

func TestCredentials(t *testing.T) {
	const agentID = "618a30beee4e8e87d2f94015"
	const secretName = "crmbridge/agents/" + agentID
	db := newFakeDB(t, agentItem)
	sec := &fakeSecrets{values: map[string]string{secretName: `{"apiKey":"key-1","webhookSecret":"new","previousWebhookSecret":"old"}`}}
	c := &Credentials{Loader: newLoader(db, &fakeClock{t: time.Unix(1_700_000_000, 0)}), Secrets: sec}
	ctx := context.Background()

	key, err := c.APIKey(ctx, agentID)
	if err != nil || key != "key-1" {
		t.Fatalf("APIKey = %q, %v", key, err)
	}
	s, err := c.AgentSecret(ctx, agentID)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.WebhookSecrets(); strings.Join(got, ",") != "new,old" {
		t.Fatalf("WebhookSecrets %v, want newest first", got)
	}
	if strings.Join(sec.gets, ",") != secretName+","+secretName {
		t.Fatalf("secret reads %v", sec.gets)
	}

	c.ForgetAPIKey(agentID)
	if strings.Join(sec.invalidated, ",") != secretName {
		t.Fatalf("invalidated %v, want the agent's secret name", sec.invalidated)
	}
	c.ForgetAPIKey("unknown-agent") // not an agent ID: nothing to invalidate
	if len(sec.invalidated) != 1 {
		t.Fatalf("invalidated %v", sec.invalidated)
	}

	if _, err := c.APIKey(ctx, "unknown-agent"); !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrInvalidID) {
		t.Fatalf("APIKey(malformed) = %v", err)
	}
	if _, err := c.APIKey(ctx, "64f1c0ffee0ddba11ad0be57"); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidID) {
		t.Fatalf("APIKey(unknown) = %v", err)
	}
	if len(sec.gets) != 2 {
		t.Fatalf("unknown agents read secrets: %v", sec.gets)
	}
	delete(sec.values, secretName)
	if _, err := c.APIKey(ctx, agentID); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Fatalf("APIKey without secret = %v", err)
	}
	sec.values[secretName] = `{"webhookSecret":"w"}`
	if _, err := c.APIKey(ctx, agentID); err == nil || !strings.Contains(err.Error(), "apiKey is missing") {
		t.Fatalf("APIKey with no apiKey = %v", err)
	}
}

func TestWebhookSecrets(t *testing.T) {
	tests := []struct {
		s    AgentSecret
		want string
	}{
		{AgentSecret{APIKey: "k", WebhookSecret: "new", PreviousWebhookSecret: "old"}, "new,old"},
		{AgentSecret{APIKey: "k", WebhookSecret: "new"}, "new"},
		{AgentSecret{APIKey: "k", PreviousWebhookSecret: "old"}, "old"},
		{AgentSecret{APIKey: "k"}, ""},
	}
	for _, tt := range tests {
		got := tt.s.WebhookSecrets()
		if strings.Join(got, ",") != tt.want || got == nil {
			t.Errorf("%+v: %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestParseAgentSecret(t *testing.T) {
	const value = "sup3r-s3cret-v4lue"
	tests := []struct {
		raw     string
		want    *AgentSecret
		problem string
	}{
		{raw: `{"apiKey":"` + value + `","webhookSecret":"w"}`, want: &AgentSecret{APIKey: value, WebhookSecret: "w"}},
		{raw: `{"apiKey":"` + value + `","extra":1}`, want: &AgentSecret{APIKey: value}},
		{raw: `{"webhookSecret":"` + value + `"}`, problem: "secret crmbridge/agents/a: apiKey is missing"},
		{raw: `{"apiKey":"","webhookSecret":"` + value + `"}`, problem: "apiKey is missing"},
		{raw: value, problem: "secret crmbridge/agents/a: not a JSON object with apiKey and webhookSecret"},
		{raw: `{"apiKey":"` + value + `"`, problem: "not a JSON object"},
		{raw: `{"apiKey":["` + value + `"]}`, problem: "not a JSON object"},
		{raw: `{"apiKey":"x","webhookSecret":{"v":"` + value + `"}}`, problem: "not a JSON object"},
		{raw: `"` + value + `"`, problem: "not a JSON object"},
	}
	for _, tt := range tests {
		got, err := ParseAgentSecret("crmbridge/agents/a", []byte(tt.raw))
		if tt.want != nil {
			if err != nil || *got != *tt.want {
				t.Errorf("ParseAgentSecret(%s) = %+v, %v", tt.raw, got, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.problem) {
			t.Errorf("ParseAgentSecret(%s) err %v, want %q", tt.raw, err, tt.problem)
			continue
		}
		if strings.Contains(err.Error(), value) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q contains the secret value", err)
		}
	}
}
