package localstack_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/localstack"
)

// TestPlaygroundAPI: bad requests get a 4xx with a JSON body naming the
// problem; the page and its files are served with a strict CSP.
func TestPlaygroundAPI(t *testing.T) {
	base := stack.API + localstack.PlaygroundPath
	tests := []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{name: "not JSON", method: "POST", path: "api/send", body: `{`, status: 400, code: "invalid_request", message: "invalid JSON"},
		{name: "wrong type of field", method: "POST", path: "api/send", body: `{"conversation":1}`, status: 400, code: "invalid_request", message: "conversation"},
		{name: "no conversation", method: "POST", path: "api/send", body: `{"type":"message","text":"hi"}`, status: 400, code: "invalid_request", message: "conversation must be"},
		{name: "conversation with a slash", method: "POST", path: "api/send", body: `{"conversation":"a/b","type":"message","text":"hi"}`, status: 400, code: "invalid_request", message: "conversation must be"},
		{name: "unknown type", method: "POST", path: "api/send", body: `{"conversation":"c","type":"agent.dance"}`, status: 400, code: "invalid_request", message: `type "agent.dance"`},
		{name: "message without text", method: "POST", path: "api/send", body: `{"conversation":"c","type":"message","text":"  "}`, status: 400, code: "invalid_request", message: "text is required"},
		{name: "widgetMessage without text", method: "POST", path: "api/send", body: `{"conversation":"c","type":"widgetMessage"}`, status: 400, code: "invalid_request", message: "text is required"},
		{name: "negative cardIndex", method: "POST", path: "api/send", body: `{"conversation":"c","type":"message","text":"x","cardIndex":-1}`, status: 400, code: "invalid_request", message: "cardIndex"},
		{name: "cardIndex off a message", method: "POST", path: "api/send", body: `{"conversation":"c","type":"agent.message","text":"x","cardIndex":0}`, status: 400, code: "invalid_request", message: "cardIndex belongs"},
		{name: "join without a name", method: "POST", path: "api/send", body: `{"conversation":"c","type":"agent.joined"}`, status: 400, code: "invalid_request", message: "agent"},
		{name: "queue update without position", method: "POST", path: "api/send", body: `{"conversation":"c","type":"agent.queueUpdate"}`, status: 400, code: "invalid_request", message: "queuePosition"},
		{name: "text too long", method: "POST", path: "api/send", body: `{"conversation":"c","type":"message","text":"` + strings.Repeat("x", 4001) + `"}`, status: 400, code: "invalid_request", message: "over 4000"},
		{name: "body too large", method: "POST", path: "api/send", body: `{"conversation":"c","type":"message","text":"` + strings.Repeat("x", 17<<10) + `"}`, status: 413, code: "body_too_large"},
		{name: "send with GET", method: "GET", path: "api/send", status: 405, code: "method_not_allowed"},
		{name: "outage without a value", method: "POST", path: "api/desk", body: `{"conversation":"c"}`, status: 400, code: "invalid_request", message: "outage"},
		{name: "outage of a bad conversation", method: "POST", path: "api/desk", body: `{"conversation":"","outage":true}`, status: 400, code: "invalid_request", message: "conversation must be"},
		{name: "feed of a bad conversation", method: "GET", path: "api/feed?conversation=%3Cscript%3E", status: 400, code: "invalid_conversation"},
		{name: "view without conversation", method: "GET", path: "api/view", status: 400, code: "invalid_conversation"},
		{name: "view with POST", method: "POST", path: "api/view?conversation=c", status: 405, code: "method_not_allowed"},
		{name: "unknown API", method: "GET", path: "api/replay", status: 404, code: "route_not_found"},
		{name: "files are read-only", method: "PUT", path: "app.js", status: 405, code: "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(b, &e); err != nil || e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.message) || e.Error.Message == "" {
				t.Errorf("body %s, want code %q and a message containing %q", b, tc.code, tc.message)
			}
		})
	}

	t.Run("the page", func(t *testing.T) {
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirect.Get(strings.TrimSuffix(base, "/"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != localstack.PlaygroundPath {
			t.Errorf("/playground: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		for path, typ := range map[string]string{"": "text/html", "app.js": "javascript", "style.css": "text/css"} {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), typ) || len(b) < 500 {
				t.Errorf("%q: %d %q, %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("%q: CSP %q", path, csp)
			}
		}
	})
}

// TestPlaygroundFeed: the feed pushes a view at once, then the bot's
// reply when it reaches the desk, after the visitor's request has been
// answered. The reads wait on the stream's own events.
func TestPlaygroundFeed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conv := newConv("feed")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, stack.API+localstack.PlaygroundPath+"api/feed?conversation="+conv, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("feed: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	views := make(chan view, 64)
	go readViews(resp.Body, views)

	first := next(t, ctx, views)
	if first.Conversation != conv || len(first.Timeline) != 0 || first.Status != nil {
		t.Fatalf("first view: %+v", first)
	}
	sendPlayground(t, conv, `{"type":"message","text":"buttons"}`)
	for {
		v := next(t, ctx, views)
		for _, it := range v.Timeline {
			if it.Kind == "callback" && it.Type == "message" && strings.Contains(string(it.Data), `"Pick one:"`) {
				if v.Status == nil || v.Status.State != "active" {
					t.Errorf("status %+v, want active", v.Status)
				}
				return
			}
		}
	}
}

type view struct {
	Conversation string
	Status       *struct{ State string }
	Timeline     []struct {
		Kind, Type string
		Data       json.RawMessage
	}
}

func readViews(r io.Reader, out chan<- view) {
	defer close(out)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "view":
			var v view
			if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &v) == nil {
				out <- v
			}
		}
	}
}

func next(t *testing.T, ctx context.Context, views <-chan view) view {
	t.Helper()
	select {
	case v, ok := <-views:
		if !ok {
			t.Fatal("the feed ended")
		}
		return v
	case <-ctx.Done():
		t.Fatal("no view from the feed:", ctx.Err())
	}
	return view{}
}

func sendPlayground(t *testing.T, conv, body string) {
	t.Helper()
	body = `{"conversation":"` + conv + `",` + strings.TrimPrefix(body, "{")
	resp, err := http.Post(stack.API+localstack.PlaygroundPath+"api/send", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("send %s: %d %s", body, resp.StatusCode, b)
	}
}
