package protocol

// Request and push types. Requests are noun.verb; pushes reuse the same names
// where a push reports the outcome of a request made by someone else.
const (
	TypeHello = "hello"
	TypePing  = "ping"

	TypeAuthRegister = "auth.register"
	TypeAuthLogin    = "auth.login"
	TypeAuthResume   = "auth.resume"
	TypeAuthLogout   = "auth.logout"
	TypeAuthPasswd   = "auth.passwd"

	TypeUserGet    = "user.get"
	TypeUserUpdate = "user.update"

	TypeFriendAdd    = "friend.add"
	TypeFriendAccept = "friend.accept"
	TypeFriendRemove = "friend.remove"
	TypeFriendList   = "friend.list"

	TypeMsgSend    = "msg.send"
	TypeMsgHistory = "msg.history"
	TypeMsgRead    = "msg.read"
	TypeMsgTyping  = "msg.typing"
	TypeMsgUnread  = "msg.unread"

	TypeGroupCreate  = "group.create"
	TypeGroupAdd     = "group.add"
	TypeGroupRemove  = "group.remove"
	TypeGroupLeave   = "group.leave"
	TypeGroupDelete  = "group.delete"
	TypeGroupRole    = "group.role"
	TypeGroupMembers = "group.members"
	TypeGroupList    = "group.list"

	TypeFileUpload   = "file.upload"
	TypeFileDownload = "file.download"
	TypeFileList     = "file.list"

	TypeMeetingCreate  = "meeting.create"
	TypeMeetingInvite  = "meeting.invite"
	TypeMeetingAccept  = "meeting.accept"
	TypeMeetingDecline = "meeting.decline"
	TypeMeetingJoin    = "meeting.join"
	TypeMeetingLeave   = "meeting.leave"
	TypeMeetingKick    = "meeting.kick"
	TypeMeetingEnd     = "meeting.end"
	TypeMeetingMembers = "meeting.members"
	TypeMeetingList    = "meeting.list"
	TypeMeetingSDP     = "meeting.sdp"
	TypeMeetingSay     = "meeting.say"
	TypeMeetingCaption = "meeting.caption"

	TypeMediaRegister    = "media.register"
	TypeMediaUnregister  = "media.unregister"
	TypeMediaSubscribe   = "media.subscribe"
	TypeMediaUnsubscribe = "media.unsubscribe"

	TypeRecordStart   = "record.start"
	TypeRecordStop    = "record.stop"
	TypeRecordingList = "recording.list"
	TypeRecordingGet  = "recording.get"

	TypeCallStart   = "call.start"
	TypeCallAccept  = "call.accept"
	TypeCallDecline = "call.decline"

	// Pushes.
	PushMsgNew         = "msg.new"
	PushMsgRead        = "msg.read"
	PushMsgTyping      = "msg.typing"
	PushGroupAdded     = "group.added"
	PushGroupRemoved   = "group.removed"
	PushGroupRole      = "group.role"
	PushGroupDeleted   = "group.deleted"
	PushFileNew        = "file.new"
	PushFriendRequest  = "friend.request"
	PushFriendAccepted = "friend.accepted"
	PushFriendRemoved  = "friend.removed"
	PushPresence       = "presence"
	PushSessionRevoked = "session.revoked"
	PushMeetingInvite  = "meeting.invite"
	PushMeetingMembers = "meeting.members"
	PushMeetingEnded   = "meeting.ended"
	PushMeetingText    = "meeting.text"
	PushMeetingCaption = "meeting.caption"
	PushRecordStarted  = "record.started"
	PushRecordStopped  = "record.stopped"
	PushCallRing       = "call.ring"
	PushCallEnded      = "call.ended"
)

// Version is the protocol version spoken by this package.
const Version = 1
