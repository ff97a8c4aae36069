package protocol

import "time"

// Group roles.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// MaxGroupBatch bounds the users of one group.add or group.remove.
const MaxGroupBatch = 100

// GroupName names a group: group.create, group.leave, group.delete,
// group.members.
type GroupName struct {
	Group string `json:"group"`
}

// Validate implements the payload check run by DecodeData.
func (g *GroupName) Validate() error { return CheckName("group", g.Group) }

// GroupUsers adds users to or removes them from a group (owner and admins).
type GroupUsers struct {
	Group string   `json:"group"`
	Users []string `json:"users"`
}

// Validate implements the payload check run by DecodeData.
func (g *GroupUsers) Validate() error {
	if err := CheckName("group", g.Group); err != nil {
		return err
	}
	return CheckUsers(g.Users, MaxGroupBatch)
}

// CheckUsers accepts a list of 1 to most valid user names, none twice.
func CheckUsers(users []string, most int) error {
	if len(users) == 0 || len(users) > most {
		return Errorf(CodeBadRequest, "users must name 1-%d users", most)
	}
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		if err := CheckName("user", u); err != nil {
			return err
		}
		if seen[u] {
			return Errorf(CodeBadRequest, "user %s named twice", u)
		}
		seen[u] = true
	}
	return nil
}

// GroupRole sets a member's role (owner only): admin or member.
type GroupRole struct {
	Group string `json:"group"`
	User  string `json:"user"`
	Role  string `json:"role"`
}

// Validate implements the payload check run by DecodeData.
func (g *GroupRole) Validate() error {
	if err := CheckName("group", g.Group); err != nil {
		return err
	}
	if err := CheckName("user", g.User); err != nil {
		return err
	}
	if g.Role != RoleAdmin && g.Role != RoleMember {
		return Errorf(CodeBadRequest, "role must be %s or %s", RoleAdmin, RoleMember)
	}
	return nil
}

// GroupInfo describes a group: the reply to group.create and an item of group.list.
type GroupInfo struct {
	Group   string    `json:"group"`
	Owner   string    `json:"owner"`
	Members int       `json:"members"`
	Role    string    `json:"role,omitempty"` // the caller's role
	Created time.Time `json:"created"`
}

// GroupList asks for the caller's groups.
type GroupList struct{}

// GroupListReply lists the caller's groups by name.
type GroupListReply struct {
	Groups []GroupInfo `json:"groups"`
}

// GroupMember is one member of a group.
type GroupMember struct {
	User   string `json:"user"`
	Role   string `json:"role"`
	Online bool   `json:"online"`
}

// GroupMembersReply lists a group's members by name.
type GroupMembersReply struct {
	Group   string        `json:"group"`
	Members []GroupMember `json:"members"`
}

// GroupUsersReply says which users a group.add, group.remove or group.leave
// changed, and how many members the group has now. group.delete and
// group.role reply with Empty.
type GroupUsersReply struct {
	Group   string   `json:"group"`
	Users   []string `json:"users"`
	Members int      `json:"members"`
}

// GroupEvent is the data of the group pushes: group.added (to a user who was
// added, and to the members), group.removed (to a user removed or who left,
// and to the members), group.role, group.deleted.
type GroupEvent struct {
	Group string `json:"group"`
	User  string `json:"user,omitempty"` // the member concerned
	By    string `json:"by,omitempty"`   // who acted
	Role  string `json:"role,omitempty"`
}
