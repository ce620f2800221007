package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

type kvFlag map[string]string

func (k kvFlag) String() string { return fmt.Sprint(map[string]string(k)) }
func (k kvFlag) Set(v string) error {
	a, b, ok := strings.Cut(v, "=")
	if !ok || a == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	k[a] = b
	return nil
}

func sendCommand() *command {
	return &command{
		name: "send", args: "[flags] TEXT",
		summary: "send a signed visitor event to the generic source",
		help: `Signs the event as the account's platform would (Standard Webhooks, the account's
inboundSecret) and posts it to the bridge. Exits 1 when the bridge answers an error.`,
		setup: func(fs *flag.FlagSet) runFunc {
			api := fs.String("api", cmp.Or(os.Getenv("CRMBRIDGE_API"), "http://127.0.0.1:3000"), "base URL of the bridge's HTTP API (env CRMBRIDGE_API)")
			account := fs.String("account", "demo", "generic source account")
			conv := fs.String("conversation", "c-1", "conversation ID")
			typ := fs.String("type", generic.TypeMessage, "event type: message, conversation.started, conversation.ended, metadata, conversation.handedBack, agent.joined, agent.message, agent.left")
			card := fs.Int("card-index", -1, "carousel card index of a button click")
			secretFile := fs.String("secret-file", "", "the account's secret file (default events/tenant/secret-source-generic-ACCOUNT.json)")
			wait := fs.Duration("wait", 3*time.Second, "how long to wait for replies at the demo desk (0: don't)")
			user, params := kvFlag{}, kvFlag{}
			fs.Var(user, "user", "user field key=value (repeatable)")
			fs.Var(params, "param", "session parameter key=value (repeatable)")
			return func(ctx context.Context, c *cli, words []string) error {
				return send(ctx, c.stdout, sendOpts{api: *api, account: *account, conv: *conv, typ: *typ, card: *card, secretFile: *secretFile, wait: *wait, user: user, params: params}, words)
			}
		},
	}
}

type sendOpts struct {
	api, account, conv, typ, secretFile string
	card                                int
	wait                                time.Duration
	user, params                        kvFlag
}

func send(ctx context.Context, stdout io.Writer, o sendOpts, words []string) error {
	text := strings.Join(words, " ")
	if o.secretFile == "" {
		o.secretFile = filepath.Join("events", "tenant", "secret-source-generic-"+o.account+".json")
	}
	sf, err := tenant.ReadSecretFile(o.secretFile)
	if err != nil {
		return fmt.Errorf("read the account's secret (--secret-file): %w", err)
	}
	var creds generic.Credentials
	if err := json.Unmarshal([]byte(sf.SecretString), &creds); err != nil {
		return fmt.Errorf("secret file: %w", err)
	}
	secret, err := stdwebhook.ParseSecret(creds.InboundSecret)
	if err != nil {
		return fmt.Errorf("inboundSecret: %w", err)
	}
	data := generic.InboundData{ConversationID: o.conv, Text: text}
	if len(o.user) > 0 {
		data.User = o.user
	}
	if len(o.params) > 0 {
		data.Parameters = o.params
	}
	if o.card >= 0 {
		data.CardIndex = &o.card
	}
	if o.typ == generic.TypeAgentJoined {
		data.Agent = &generic.AgentInfo{Name: text}
		data.Text = ""
	}
	now := time.Now()
	body, err := generic.NewEvent(o.typ, data, now)
	if err != nil {
		return err
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := "evt_" + hex.EncodeToString(b[:])
	before := inboxLen(ctx, o.api, o.conv)
	status, resp, err := generic.Post(ctx, &http.Client{Timeout: 30 * time.Second}, o.api+"/sources/generic/"+o.account, secret, id, body, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "→ %s %s (webhook-id %s): HTTP %d %s\n", o.typ, o.conv, id, status, strings.TrimSpace(string(resp)))
	if status >= 300 {
		// Any refused request fails the command (agent_rejected, agent_not_configured, …).
		return fmt.Errorf("the bridge answered HTTP %d %s", status, errorCodeOf(resp))
	}
	if o.wait <= 0 || before < 0 {
		return nil
	}
	// Show what reached the demo desk for this conversation since.
	deadline := time.Now().Add(o.wait)
	shown := before
	for time.Now().Before(deadline) {
		entries := inbox(ctx, o.api, o.conv)
		for _, e := range entries[min(shown, len(entries)):] {
			fmt.Fprintf(stdout, "← %s\n", describe(e))
		}
		shown = max(shown, len(entries))
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

// errorCodeOf is the bridge's error code in an answer, if it has one.
func errorCodeOf(body []byte) string {
	var eb apigw.ErrorBody
	if json.Unmarshal(body, &eb) != nil {
		return ""
	}
	return eb.Error.Code
}

func inbox(ctx context.Context, api, conv string) []localstack.InboxEntry {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api+"/demo/inbox?conversation="+conv, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out []localstack.InboxEntry
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return nil
	}
	return out
}

// inboxLen is -1 when there is no demo desk (a deployed bridge).
func inboxLen(ctx context.Context, api, conv string) int {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api+"/demo/inbox?conversation="+conv, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var out []localstack.InboxEntry
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return -1
	}
	return len(out)
}

func describe(e localstack.InboxEntry) string {
	var d struct {
		Message    json.RawMessage `json:"message"`
		EscalateTo string          `json:"escalateTo"`
		Name       string          `json:"name"`
		Text       string          `json:"text"`
	}
	_ = json.Unmarshal(e.Data, &d)
	switch e.Type {
	case generic.OutMessage:
		return "message " + string(d.Message)
	case generic.OutEscalation:
		return "escalation.requested (escalateTo " + d.EscalateTo + ")"
	case generic.OutAction:
		return "action " + d.Name
	default:
		return e.Type + " " + string(e.Data)
	}
}
