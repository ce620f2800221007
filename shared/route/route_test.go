package route

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// The Makefile keeps its own list for its build loops; it must be this one.
func TestMakefileListsTheFunctions(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^FUNCTIONS\s*:=\s*(.+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no FUNCTIONS := line in the Makefile")
	}
	if got := strings.Fields(string(m[1])); !slices.Equal(got, Functions) {
		t.Fatalf("Makefile FUNCTIONS = %v, route.Functions = %v", got, Functions)
	}
	for _, fn := range Functions {
		if _, err := os.Stat("../../functions/" + fn + "/main.go"); err != nil {
			t.Errorf("function %s has no main: %v", fn, err)
		}
	}
}

func TestEveryRouteTargetsAFunction(t *testing.T) {
	defaults := 0
	for _, r := range Table {
		if !slices.Contains(Functions, r.Target) {
			t.Errorf("%s targets %q", r.Key(), r.Target)
		}
		if r.Method == apigw.DefaultRoute {
			defaults++
		}
	}
	if defaults != 1 {
		t.Fatalf("%d $default routes, want 1", defaults)
	}
}

func TestOwnership(t *testing.T) {
	for _, et := range []string{ultimate.EventSendMessage, ultimate.EventEscalate, ultimate.EventIsTeamOnline,
		ultimate.EventWidgetMessage, ultimate.EventWidgetEscalate, ultimate.EventWidgetEndSession} {
		body := `{"botId":"b","data":{"eventType":"` + et + `","platformConversationId":"generic:a:c"}}`
		w, err := ultimate.ParseWebhook([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		owner := Of(w).Function
		if owner == "" {
			t.Fatalf("%s has no owner", et)
		}
		if err := Serves(owner, w); err != nil {
			t.Errorf("%s: its owner %s is refused: %v", et, owner, err)
		}
		for _, fn := range Functions {
			if fn == owner {
				continue
			}
			err := Serves(fn, w)
			e := apigw.AsError(err)
			if e.Status != 400 || e.Code != "wrong_route" || !strings.Contains(e.Message, routeOf(owner)) {
				t.Errorf("%s at %s: %v", et, fn, err)
			}
		}
	}
	w, _ := ultimate.ParseWebhook([]byte(`{"botId":"b","name":"x","data":[]}`))
	if Type(w) != Action || Of(w).Function != WebhookAction || Of(w).Conversation {
		t.Fatalf("action: %+v", Of(w))
	}
	if routeOf(WebhookEscalation) != "POST /webhooks/escalation" || routeOf(WebhookMessage) != "POST /webhooks/message" {
		t.Fatal(routeOf(WebhookEscalation), routeOf(WebhookMessage))
	}
}
