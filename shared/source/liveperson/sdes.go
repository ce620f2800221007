package liveperson

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// User fields taken from LivePerson's engagement attributes (SDES). The
// names follow the bridge's user-field conventions, so the inbound handler's
// defaults mark the personal ones for sanitizing and operators write
// metadata rules against stable names.
const (
	FieldName           = "name"
	FieldFirstName      = "firstName"
	FieldLastName       = "lastName"
	FieldEmail          = "email"
	FieldPhone          = "phone"
	FieldCustomerID     = "customerId"
	FieldUserName       = "userName"
	FieldCustomerType   = "customerType"
	FieldCustomerStatus = "customerStatus"
	FieldAccountName    = "accountName"
	FieldCompany        = "company"
	FieldLanguage       = "language"
	FieldAuthenticated  = "authenticated"
)

// personalFields are answered with sanitize by getUserInfo.
var personalFields = map[string]bool{
	FieldName: true, FieldFirstName: true, FieldLastName: true, FieldEmail: true,
	FieldPhone: true, FieldCustomerID: true, FieldUserName: true,
}

// AttrPrefix marks the SDES-derived fields among a conversation's stored
// attributes.
const AttrPrefix = "sdes."

const maxSDESValue = 256

// sdesSet is one of authenticatedSdes / unauthenticatedSdes. Messaging sends
// {customerInfo:{customerInfo:{...}}, personalInfo:{personalInfo:{...}}};
// chat sends authenticated data flat as authenticatedParticipantInfo and
// authenticatedPersonalInfo.
type sdesSet struct {
	CustomerInfo struct {
		CustomerInfo customerInfo `json:"customerInfo"`
	} `json:"customerInfo"`
	PersonalInfo struct {
		PersonalInfo personalInfo `json:"personalInfo"`
	} `json:"personalInfo"`
	ChatParticipant customerInfo `json:"authenticatedParticipantInfo"`
	ChatPersonal    personalInfo `json:"authenticatedPersonalInfo"`
}

type customerInfo struct {
	CustomerID     json.RawMessage `json:"customerId"`
	UserName       json.RawMessage `json:"userName"`
	CustomerType   json.RawMessage `json:"customerType"`
	CustomerStatus json.RawMessage `json:"customerStatus"`
	AccountName    json.RawMessage `json:"accountName"`
}

type personalInfo struct {
	Name     json.RawMessage `json:"name"`
	Surname  json.RawMessage `json:"surname"`
	Company  json.RawMessage `json:"company"`
	Language json.RawMessage `json:"language"`
	Contacts []struct {
		Email json.RawMessage `json:"email"`
		Phone json.RawMessage `json:"phone"`
	} `json:"contacts"`
}

// sdesUser reads the user fields of a PUT conversation's sdes object.
// Authenticated values win over unauthenticated ones: the brand vouches for
// them. Values of the wrong type are skipped, never an error: LivePerson
// passes whatever the brand's page put there.
func sdesUser(raw json.RawMessage) map[string]string {
	var both struct {
		Authenticated   json.RawMessage `json:"authenticatedSdes"`
		Unauthenticated json.RawMessage `json:"unauthenticatedSdes"`
	}
	if json.Unmarshal(raw, &both) != nil {
		return nil
	}
	user := map[string]string{}
	authFields := readSet(both.Authenticated, user)
	readSet(both.Unauthenticated, user)
	if authFields > 0 {
		user[FieldAuthenticated] = "true"
	} else if len(user) > 0 {
		user[FieldAuthenticated] = "false"
	}
	if len(user) == 0 {
		return nil
	}
	return user
}

// readSet adds the fields of one set that are not set yet, and counts them.
func readSet(raw json.RawMessage, user map[string]string) int {
	var s sdesSet
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return 0
	}
	before := len(user)
	for _, c := range []customerInfo{s.CustomerInfo.CustomerInfo, s.ChatParticipant} {
		put(user, FieldCustomerID, c.CustomerID)
		put(user, FieldUserName, c.UserName)
		put(user, FieldCustomerType, c.CustomerType)
		put(user, FieldCustomerStatus, c.CustomerStatus)
		put(user, FieldAccountName, c.AccountName)
	}
	for _, p := range []personalInfo{s.PersonalInfo.PersonalInfo, s.ChatPersonal} {
		first, last := scalar(p.Name), scalar(p.Surname)
		if _, ok := user[FieldName]; !ok {
			if full := strings.TrimSpace(first + " " + last); full != "" && usable(full) {
				user[FieldName] = full
			}
		}
		put(user, FieldFirstName, p.Name)
		put(user, FieldLastName, p.Surname)
		put(user, FieldCompany, p.Company)
		put(user, FieldLanguage, p.Language)
		for _, c := range p.Contacts {
			put(user, FieldEmail, c.Email)
			put(user, FieldPhone, c.Phone)
		}
	}
	return len(user) - before
}

func put(user map[string]string, key string, raw json.RawMessage) {
	if _, ok := user[key]; ok {
		return
	}
	if v := scalar(raw); v != "" && usable(v) {
		user[key] = v
	}
}

// scalar reads a JSON string, number or boolean as text; "" for anything
// else (null, objects, arrays).
func scalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	case 't', 'f':
		if string(raw) == "true" || string(raw) == "false" {
			return string(raw)
		}
	default:
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
	}
	return ""
}

func usable(v string) bool {
	if utf8.RuneCountInString(v) > maxSDESValue {
		return false
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// conversationContext is the PUT conversation's context.
type conversationContext struct {
	Type         json.RawMessage `json:"type"`
	SkillID      json.RawMessage `json:"skillId"`
	EngagementID json.RawMessage `json:"engagementId"`
	CampaignID   json.RawMessage `json:"campaignId"`
	Visitor      struct {
		Language json.RawMessage `json:"language"`
	} `json:"visitor"`
}

// Session parameters taken from the conversation context: not personal, and
// useful for the AI agent's routing (which skill, which campaign).
const (
	ParamConversationType = "lpConversationType"
	ParamSkillID          = "lpSkillId"
	ParamEngagementID     = "lpEngagementId"
	ParamCampaignID       = "lpCampaignId"
)

func contextParams(raw json.RawMessage, user map[string]string) map[string]string {
	var c conversationContext
	if len(raw) == 0 || json.Unmarshal(raw, &c) != nil {
		return nil
	}
	params := map[string]string{}
	for k, v := range map[string]json.RawMessage{
		ParamConversationType: c.Type, ParamSkillID: c.SkillID, ParamEngagementID: c.EngagementID, ParamCampaignID: c.CampaignID,
	} {
		if s := scalar(v); s != "" && usable(s) {
			params[k] = s
		}
	}
	if user != nil {
		put(user, FieldLanguage, c.Visitor.Language)
	}
	if len(params) == 0 {
		return nil
	}
	return params
}
