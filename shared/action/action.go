// Package action is the webhook-action function: the AI agent's named
// actions, served by a built-in of the conversation's platform adapter or by
// a tenant-defined HTTP call-out, answered synchronously with results the AI
// agent stores as session parameters.
package action

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/accounts"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Accounts admits webhooks (accounts.Resolver).
type Accounts interface {
	Admit(ctx context.Context, req *apigw.Request, function string) (*accounts.Call, error)
}

// Actions reads action items.
type Actions interface {
	Action(ctx context.Context, agentID, name string) (*tenant.Action, error)
}

// Secrets reads an action's secret, refusing one that is not its agent's
// (tenant.Credentials).
type Secrets interface {
	ActionSecret(ctx context.Context, act *tenant.Action, name string, parse func([]byte) (any, error)) (any, error)
}

// Conversations reads what the bridge kept about a conversation (adapter
// data such as the profile a platform sent at the start).
type Conversations interface {
	Conversation(ctx context.Context, pcid string) (*state.Conversation, error)
}

// Handler serves POST /webhooks/action (and forwarded calls).
type Handler struct {
	Accounts      Accounts
	Actions       Actions
	Secrets       Secrets
	Conversations Conversations
	Sources       *source.Registry
	HTTP          *egress.Client
	Retry         retry.Policy
	Log           *slog.Logger
	Metrics       *obs.Metrics
	// Budget bounds an action including retries; default 10 s.
	Budget time.Duration
}

// Serve is the function's apigw.Func. Every answer is counted by the
// action's kind and status class.
func (h *Handler) Serve(ctx context.Context, req *apigw.Request) (resp events.APIGatewayV2HTTPResponse, err error) {
	var kind string
	defer func() {
		status := http.StatusOK
		if err != nil {
			status = apigw.AsError(err).Status
		}
		h.Metrics.Count("Actions", 1, map[string]string{"Kind": kind, "Status": fmt.Sprint(status / 100 * 100)})
	}()
	call, err := h.Accounts.Admit(ctx, req, route.WebhookAction)
	if err != nil {
		return resp, err
	}
	act := call.Hook.Action
	req.Log.Set("action", act.Name)
	def, err := h.Actions.Action(ctx, call.Agent.AgentID, act.Name)
	if err != nil {
		return resp, accounts.LookupError(err, apigw.Errorf(http.StatusNotFound, "unknown_action", "no action %q is configured for agent %s", act.Name, call.Agent.AgentID))
	}
	kind = def.Kind
	req.Log.Set("kind", kind)
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(h.Budget, 10*time.Second))
	defer cancel()
	var results []ultimate.ActionResult
	switch def.Kind {
	case tenant.ActionBuiltin:
		results, err = h.builtin(ctx, call, def)
	case tenant.ActionHTTP:
		results, err = h.http(ctx, call, def)
	default:
		err = apigw.Errorf(http.StatusInternalServerError, "config_invalid", "action %q has unknown kind %q", def.Name, def.Kind)
	}
	if err != nil {
		return resp, failure(err)
	}
	results = saveAs(act.Data, results)
	if err := ultimate.CheckResults(results); err != nil {
		// Every producer makes contract values; this is the last guard
		// before the AI agent would refuse them.
		return resp, apigw.Wrap(err, http.StatusBadGateway, "invalid_action_results", "the action produced results the AI agent does not accept: "+err.Error())
	}
	return apigw.JSON(http.StatusOK, ultimate.ActionResponse{Results: results}), nil
}

func (h *Handler) builtin(ctx context.Context, call *accounts.Call, def *tenant.Action) ([]ultimate.ActionResult, error) {
	if call.Account == nil {
		return nil, apigw.Errorf(http.StatusBadRequest, "invalid_payload", "platformConversationId: required for built-in action %q", def.Name)
	}
	if def.Builtin == BuiltinClose {
		if c, err := source.Capability[source.Closer](h.Sources, call.Conv.Source); err == nil {
			err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error { return c.Close(ctx, call.Account, call.Conv) })
			if errors.Is(err, source.ErrUnsupported) {
				return nil, apigw.Wrap(err, http.StatusUnprocessableEntity, "builtin_unsupported", err.Error())
			}
			return []ultimate.ActionResult{}, err
		}
	}
	b, err := source.Capability[source.Builtins](h.Sources, call.Conv.Source)
	if err != nil {
		return nil, apigw.Wrap(err, http.StatusUnprocessableEntity, "builtin_unsupported", fmt.Sprintf("source %q has no built-in actions", call.Conv.Source))
	}
	req := source.ActionRequest{ID: source.NewID(), AgentID: call.Agent.AgentID, Name: def.Name, Builtin: def.Builtin, Params: call.Hook.Action.Data}
	if h.Conversations != nil {
		if c, err := h.Conversations.Conversation(ctx, call.Conv.PCID()); err == nil {
			req.Attrs = c.Attrs
		} else if !errors.Is(err, state.ErrNoConversation) {
			return nil, apigw.Wrap(err, http.StatusServiceUnavailable, "state_unavailable", "could not read the conversation; retry")
		}
	}
	var results []ultimate.ActionResult
	err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error {
		var err error
		results, err = b.Builtin(ctx, call.Account, call.Conv, req)
		return err
	})
	if errors.Is(err, source.ErrUnsupported) {
		return nil, apigw.Wrap(err, http.StatusUnprocessableEntity, "builtin_unsupported", fmt.Sprintf("source %q does not offer built-in %q", call.Conv.Source, def.Builtin))
	}
	return results, err
}

func (h *Handler) http(ctx context.Context, call *accounts.Call, def *tenant.Action) ([]ultimate.ActionResult, error) {
	spec, err := specOf(def)
	if err != nil {
		return nil, apigw.Wrap(err, http.StatusInternalServerError, "config_invalid", "the action's http definition is invalid; see logs")
	}
	vs := vars{"agent.id": call.Agent.AgentID, "action.name": def.Name}
	if call.Account != nil {
		vs["conversation.source"], vs["conversation.account"] = call.Conv.Source, call.Conv.Account
		vs["conversation.id"], vs["conversation.pcid"] = call.Conv.ID, call.Conv.PCID()
	}
	for _, p := range call.Hook.Action.Data {
		if len(p.Value) > 0 {
			vs["data."+p.Key] = p.Value[0]
		}
	}
	if spec.Secret != "" {
		fields, err := h.Secrets.ActionSecret(ctx, def, spec.Secret, ParseSecretFields)
		switch {
		case errors.Is(err, tenant.ErrForeignSecret):
			return nil, apigw.Wrap(err, http.StatusInternalServerError, "config_invalid", "the action names a secret that is not its agent's; see logs")
		case err != nil:
			return nil, apigw.Wrap(err, http.StatusInternalServerError, "credentials_unavailable", "the action's secret could not be read; see logs")
		}
		for k, v := range fields.(map[string]string) {
			vs["secret."+k] = v
		}
	}
	var results []ultimate.ActionResult
	err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error {
		var err error
		results, err = h.callOut(ctx, spec, vs)
		return err
	})
	return results, err
}

// ParseSecretFields turns an action secret (a JSON object) into the values
// of its {{secret.x}} placeholders; the secrets cache keeps the result.
// `crmbridge secrets put` and `doctor` check secrets with it too.
func ParseSecretFields(raw []byte) (any, error) {
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, errors.New("the action's secret is not a JSON object")
	}
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		out[k] = stringify(v)
	}
	return out, nil
}

// failure turns an action error into the AI agent's answer.
func failure(err error) error {
	var ae *apigw.Error
	if errors.As(err, &ae) {
		return err
	}
	var he *egress.StatusError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, retry.ErrBudget):
		return apigw.Wrap(err, http.StatusGatewayTimeout, "action_timeout", "the action did not complete in time")
	case errors.As(err, &he):
		return apigw.Wrap(err, http.StatusBadGateway, "action_failed", fmt.Sprintf("the action's endpoint answered %d", he.Status))
	default:
		return apigw.Wrap(err, http.StatusBadGateway, "action_failed", "the action failed; see logs")
	}
}

// saveAs renames results whose key an input parameter asked to store under
// another name.
func saveAs(data []ultimate.ActionParam, results []ultimate.ActionResult) []ultimate.ActionResult {
	rename := map[string]string{}
	for _, p := range data {
		if p.SaveAs != "" {
			rename[p.Key] = p.SaveAs
		}
	}
	if results == nil {
		results = []ultimate.ActionResult{}
	}
	for i, r := range results {
		if n, ok := rename[r.Key]; ok {
			results[i].Key = n
		}
	}
	return results
}

func msDuration(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
