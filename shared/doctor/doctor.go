// Package doctor checks a crmbridge deployment without changing it: the
// tables, every tenant item (with the functions' own parsers), every
// secret the items name (present, and shaped as the functions read it), each
// AI agent's credentials (with a call that creates nothing), and the
// bridge's own webhook and source URLs. Each finding says what to fix.
// `crmbridge doctor` runs it.
package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/crmbridge/crmbridge/shared/action"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Tables is what the table checks ask of DynamoDB (read-only).
type Tables interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
}

// Secrets reads secret values.
type Secrets interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Agent checks an agent's credentials without side effects
// (ultimate.Client.Probe).
type Agent interface {
	Probe(ctx context.Context, t ultimate.Target) error
}

// Checker is one check of a deployment.
type Checker struct {
	Tables       Tables
	Items        dynamodb.ScanAPIClient
	Secrets      Secrets
	Hooks        tenant.Hooks     // the functions' item parsers (app.Hooks)
	Sources      *source.Registry // the adapters, for their credential checks
	Agent        Agent            // nil skips the credential calls
	HTTP         *egress.Client   // for the URL checks
	TenantsTable string
	StateTable   string
	// API is the bridge's base URL (the stack's ApiUrl output); empty skips
	// the URL checks.
	API string
}

// Finding is the outcome of one check.
type Finding struct {
	Check   string // what was checked, e.g. "secret crmbridge/agents/…"
	OK      bool
	Skipped bool
	Detail  string // what was found
	Fix     string // what to do, for a failure
}

// Findings is a run's outcomes.
type Findings []Finding

// Failed counts the failures.
func (fs Findings) Failed() int {
	n := 0
	for _, f := range fs {
		if !f.OK && !f.Skipped {
			n++
		}
	}
	return n
}

type run struct {
	c   *Checker
	out Findings
}

func (r *run) ok(check, detail string) {
	r.out = append(r.out, Finding{Check: check, OK: true, Detail: detail})
}

func (r *run) fail(check, detail, fix string) {
	r.out = append(r.out, Finding{Check: check, Detail: detail, Fix: fix})
}

func (r *run) skip(check, detail string) {
	r.out = append(r.out, Finding{Check: check, Skipped: true, Detail: detail})
}

// parsed is one tenant item, read and parsed as the functions do.
type parsed struct {
	name string
	kind tenant.Kind
	v    any // *tenant.Source, *tenant.Agent, *tenant.Action
}

// Run checks everything it can reach; a failed check never stops the
// others unless they depend on it.
func (c *Checker) Run(ctx context.Context) Findings {
	r := &run{c: c}
	tablesOK := r.tables(ctx)
	if !tablesOK {
		return r.out
	}
	items := r.items(ctx)
	agentSecretOK := r.references(ctx, items)
	r.agents(ctx, items, agentSecretOK)
	r.urls(ctx, items)
	return r.out
}

func (r *run) tables(ctx context.Context) bool {
	ok := true
	check := func(name, role string, keys []string, index string, ttl bool) {
		what := "table " + name + " (" + role + ")"
		out, err := r.c.Tables.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		var nf *ddbtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
			ok = false
			r.fail(what, "does not exist", fmt.Sprintf("set %s to the stack's %sTableName output (and AWS_REGION to its region)", strings.ToUpper(role)+"_TABLE", strings.ToUpper(role[:1])+role[1:]))
			return
		case err != nil:
			ok = false
			r.fail(what, "cannot be described: "+err.Error(), "check the credentials' access to DynamoDB (dynamodb:DescribeTable)")
			return
		}
		t := out.Table
		var got []string
		for _, k := range t.KeySchema {
			got = append(got, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		if strings.Join(got, ", ") != strings.Join(keys, ", ") {
			ok = false
			r.fail(what, fmt.Sprintf("key schema %v, want %v", got, keys), "this is not a crmbridge table: use the stack's output")
			return
		}
		var problems []string
		if t.TableStatus != ddbtypes.TableStatusActive && t.TableStatus != "" {
			problems = append(problems, "status "+string(t.TableStatus))
		}
		if index != "" {
			found := false
			for _, g := range t.GlobalSecondaryIndexes {
				found = found || aws.ToString(g.IndexName) == index
			}
			if !found {
				problems = append(problems, "no index "+index)
			}
		}
		if ttl {
			tt, err := r.c.Tables.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
			if err != nil {
				problems = append(problems, "TTL cannot be described: "+err.Error())
			} else if d := tt.TimeToLiveDescription; d == nil || d.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != state.ExpiryAttribute {
				problems = append(problems, "TTL on "+state.ExpiryAttribute+" is not enabled")
			}
		}
		if len(problems) > 0 {
			r.fail(what, strings.Join(problems, "; "), "deploy the stack's template (sam deploy) so the table is as it defines")
			return
		}
		r.ok(what, "exists, as the template defines it")
	}
	check(r.c.TenantsTable, "tenants", []string{"pk HASH", "sk RANGE"}, "", false)
	check(r.c.StateTable, "state", []string{"pk HASH"}, state.DeadLetterIndex, true)
	return ok
}

// items reads and parses every tenant item, as the functions would.
func (r *run) items(ctx context.Context) []parsed {
	var out []parsed
	n, bad := 0, 0
	p := dynamodb.NewScanPaginator(r.c.Items, &dynamodb.ScanInput{TableName: aws.String(r.c.TenantsTable)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			r.fail("tenant items", "cannot be read: "+err.Error(), "check the credentials' access to the Tenants table (dynamodb:Scan)")
			return out
		}
		for _, it := range page.Items {
			n++
			pk, sk, kind := tenant.KeysOf(it)
			name := tenant.Name(pk, sk)
			v, err := r.c.Hooks.Parse(it)
			if err != nil {
				bad++
				r.fail("item "+name, err.Error(), fmt.Sprintf("fix the file and `crmbridge tenants put FILE` (`crmbridge tenants get '%s' '%s'` prints the item)", pk, sk))
				continue
			}
			out = append(out, parsed{name: name, kind: kind, v: v})
		}
	}
	switch {
	case n == 0:
		r.fail("tenant items", "the Tenants table is empty", "write the tenant's items: `crmbridge tenants put my-tenant/*.json` (start from events/tenant/)")
	case bad == 0:
		r.ok("tenant items", fmt.Sprintf("%d items, all valid", n))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// references checks what items name: each account's agent item, and every
// secret, present and shaped as the functions read it. It reports which
// agents' secrets are good.
func (r *run) references(ctx context.Context, items []parsed) map[string]bool {
	agents := map[string]*tenant.Agent{}
	for _, p := range items {
		if a, ok := p.v.(*tenant.Agent); ok {
			agents[a.AgentID] = a
		}
	}
	good := map[string]bool{}
	for _, p := range items {
		switch v := p.v.(type) {
		case *tenant.Source:
			if _, ok := agents[v.AgentID]; !ok {
				r.fail("item "+p.name, "maps to agent "+v.AgentID+", which has no item "+tenant.Name(tenant.AgentKey(v.AgentID), tenant.ConfigSK),
					"put the agent's item, or correct agentId")
			}
			if v.CredentialsSecret == "" {
				continue
			}
			ad, ok := r.c.Sources.Get(v.Source)
			if !ok {
				r.fail("item "+p.name, "source "+v.Source+" has no adapter", "known sources: "+strings.Join(r.c.Sources.Names(), ", "))
				continue
			}
			r.secret(ctx, v.CredentialsSecret, "source "+v.Source+" "+v.Account, ad.ValidateCredentials)
		case *tenant.Agent:
			good[v.AgentID] = r.secret(ctx, v.Secret, "agent "+v.AgentID, func(raw []byte) error {
				_, err := tenant.ParseAgentSecret(v.Secret, raw)
				return err
			})
		case *tenant.Action:
			spec, ok := v.Spec.(*action.HTTPSpec)
			if !ok || spec == nil || spec.Secret == "" {
				continue
			}
			r.secret(ctx, spec.Secret, "action "+v.Name+" of agent "+v.AgentID, func(raw []byte) error {
				_, err := action.ParseSecretFields(raw)
				return err
			})
		}
	}
	return good
}

// secret reads one secret and checks its value with the functions' parser;
// the value never reaches a finding.
func (r *run) secret(ctx context.Context, name, owner string, check func([]byte) error) bool {
	what := "secret " + name
	put := putHint(name)
	out, err := r.c.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	var nf *smtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		r.fail(what, "missing (named by "+owner+")", put)
		return false
	case err != nil:
		r.fail(what, "cannot be read: "+egress.Reason(err), "check the credentials' access (secretsmanager:GetSecretValue) and the region")
		return false
	}
	raw := []byte(aws.ToString(out.SecretString))
	if out.SecretString == nil {
		raw = out.SecretBinary
	}
	if err := check(raw); err != nil {
		r.fail(what, "not shaped right: "+err.Error(), put)
		return false
	}
	r.ok(what, "present and valid")
	return true
}

func putHint(name string) string {
	ref, err := tenant.ParseSecretName(name)
	if err != nil {
		return "rename it by the naming rules (see the README's secret names)"
	}
	switch ref.Kind {
	case tenant.SecretAgent:
		return fmt.Sprintf(`crmbridge secrets put agent %s --value-file FILE (JSON {"apiKey": …, "webhookSecret": …})`, ref.AgentID)
	case tenant.SecretSource:
		return fmt.Sprintf("crmbridge secrets put source %s %s --value-file FILE (the platform's credentials; see the README's section of the source)", ref.Source, ref.Account)
	default:
		return fmt.Sprintf("crmbridge secrets put action %s %s --value-file FILE (a JSON object of the {{secret.x}} fields)", ref.AgentID, ref.Name)
	}
}

// agents checks each agent's credentials with the AI agent itself.
func (r *run) agents(ctx context.Context, items []parsed, secretOK map[string]bool) {
	for _, p := range items {
		a, ok := p.v.(*tenant.Agent)
		if !ok {
			continue
		}
		what := "AI agent " + a.AgentID
		switch {
		case r.c.Agent == nil:
			r.skip(what, "credential check not asked for")
			continue
		case !secretOK[a.AgentID]:
			r.skip(what, "no usable secret to check with")
			continue
		}
		err := r.c.Agent.Probe(ctx, ultimate.Target{AgentID: a.AgentID, BaseURL: a.BaseURL})
		switch {
		case err == nil:
			r.ok(what, "accepts the bot ID and API key (an empty request, answered 400, creates nothing)")
		case errors.Is(err, ultimate.ErrUnauthorized):
			r.fail(what, "refuses the API key", "regenerate the custom CRM API key in the AI agent's dashboard and `crmbridge secrets put agent "+a.AgentID+"`")
		case errors.Is(err, ultimate.ErrBotNotFound):
			r.fail(what, "does not know this bot ID at its base URL", "check the agent ID (24 hex characters from the dashboard URL) and the item's baseUrl (or ULTIMATE_BASE_URL)")
		default:
			r.fail(what, "not reachable: "+egress.Reason(err), "check the base URL and the network; retry later if the AI agent is down")
		}
	}
}

// urls checks that the bridge's own URLs reach its functions: the webhook
// URL the AI agent calls, and each account's source URL. Unsigned GETs,
// which every route refuses with its own JSON error.
func (r *run) urls(ctx context.Context, items []parsed) {
	if r.c.API == "" {
		r.skip("webhook and source URLs", "no --api given (the stack's ApiUrl output)")
		return
	}
	api := strings.TrimRight(r.c.API, "/")
	r.url(ctx, "webhook URL", api+"/webhooks", true)
	for _, p := range items {
		if s, ok := p.v.(*tenant.Source); ok {
			// The adapter answers below its route (LivePerson only serves
			// sub-paths, refused with route_not_found here): its own JSON.
			r.url(ctx, "source URL of "+s.Source+" "+s.Account, api+"/sources/"+s.Source+"/"+s.Account, false)
		}
	}
}

// url checks one of the bridge's URLs; routed says the API itself must
// route it (route_not_found is then a failure).
func (r *run) url(ctx context.Context, what, u string, routed bool) {
	what += " " + u
	_, err := r.c.HTTP.Do(ctx, &egress.Request{Op: "doctor GET", Method: http.MethodGet, URL: u, MaxBody: 16 << 10, Code: errorCode})
	var se *egress.StatusError
	switch {
	case err == nil:
		r.ok(what, "reaches the bridge")
	case !errors.As(err, &se):
		r.fail(what, "not reachable: "+egress.Reason(err), "check the URL (the stack's ApiUrl output, or the custom domain's DNS record)")
	case se.Code == "":
		r.fail(what, fmt.Sprintf("answers HTTP %d, but not with the bridge's JSON error (another service, or API Gateway's own)", se.Status), "check the URL and the API's routes (sam deploy)")
	case se.Code == "route_not_found" && routed:
		r.fail(what, "the bridge has no route for it", "check the path, and that the stack runs the current template")
	default:
		// An unsigned GET is refused by every route, with its own code.
		r.ok(what, fmt.Sprintf("reaches the bridge (an unsigned GET is answered %d %s)", se.Status, se.Code))
	}
}

// errorCode reads the bridge's JSON error code (apigw.ErrorBody).
func errorCode(body []byte) string {
	var eb apigw.ErrorBody
	if json.Unmarshal(body, &eb) != nil {
		return ""
	}
	return eb.Error.Code
}
