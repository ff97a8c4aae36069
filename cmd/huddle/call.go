package main

import (
	"context"
	"encoding/json"
	"time"

	"huddle/client"
	"huddle/protocol"
)

func callCommands() []command {
	return []command{
		{"call", "NAME", "call a user and wait until they answer (exit 1 if they decline or do not answer)", cmdCall},
		{"call accept", "ID", "answer a call: joins its meeting", meetingJoin((*client.Client).CallAccept)},
		{"call decline", "ID", "decline a call", meetingDone((*client.Client).CallDecline, "declined", "call")},
	}
}

// noArgsHints is what a command given none of its arguments adds to
// "missing argument": "call accept" with no ID may be meant as a call to a
// user named accept.
var noArgsHints = map[string]string{
	"call accept":  "to call a user named accept, run huddle call -- accept",
	"call decline": "to call a user named decline, run huddle call -- decline",
}

// callResult is what call prints: answered, or why not.
type callResult struct {
	protocol.CallInfo
	Answered bool   `json:"answered"`
	Reason   string `json:"reason,omitempty"` // of call.ended when not answered
}

// hangupTimeout bounds ending an interrupted call's meeting.
const hangupTimeout = 5 * time.Second

// cmdCall rings NAME and waits for the answer: a meeting.members push in
// which the callee has joined, or call.ended. Only connecting is bounded
// by requestTimeout; the server's ring timeout ends an unanswered call.
// Interrupted while ringing, it ends the call's meeting so that the callee
// stops ringing.
func cmdCall(ctx context.Context, a *app, cl *cmdLine) error {
	args, err := cl.parse(1, 1)
	if err != nil {
		return err
	}
	return a.withTransfer(ctx, func(ctx context.Context, c *client.Client) error {
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		call, err := c.CallStart(rctx, args[0])
		cancel()
		if err != nil {
			return err
		}
		if call.CalleeOnline {
			a.note("ringing %s (meeting %d)…", call.Callee, call.Meeting)
		} else {
			a.note("ringing %s (meeting %d); %s is offline and is rung on connecting, until the call times out…", call.Callee, call.Meeting, call.Callee)
		}
		res, err := waitAnswer(ctx, c, call.CallInfo)
		if err != nil {
			if ctx.Err() != nil {
				hctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
				defer cancel()
				if herr := c.MeetingEnd(hctx, call.Meeting); herr != nil {
					a.warn("end the call", herr)
				}
			}
			return err
		}
		if !res.Answered {
			// The error says why on stderr; --json also gives the result
			// object on stdout for scripts, text would only repeat it.
			if a.json {
				if perr := writeJSON(a.stdout, res); perr != nil {
					return perr
				}
			}
			return &cliError{code: protocol.CodeUnavailable, msg: callFailure(call.Callee, res.Reason)}
		}
		return a.print(res, "%s answered: meeting %d", call.Callee, call.Meeting)
	})
}

func callFailure(callee, reason string) string {
	switch reason {
	case protocol.CallDeclined:
		return callee + " declined the call"
	case protocol.CallTimeout:
		return callee + " did not answer"
	}
	return "the call ended"
}

// callEndGrace is how long waitAnswer waits after meeting.ended of the
// call for the call.ended push that says why (the server sends both).
const callEndGrace = time.Second

// waitAnswer reads pushes until the call is answered or has ended.
func waitAnswer(ctx context.Context, c *client.Client, call protocol.CallInfo) (callResult, error) {
	res := callResult{CallInfo: call}
	var ended <-chan time.Time // after meeting.ended, while waiting for call.ended
	for {
		select {
		case p := <-c.Pushes():
			switch p.Type {
			case protocol.PushMeetingMembers:
				var m protocol.MeetingMembers
				if json.Unmarshal(p.Data, &m) == nil && m.Meeting == call.Meeting && hasJoined(m.Members, call.Callee) {
					res.Answered = true
					return res, nil
				}
			case protocol.PushCallEnded:
				var e protocol.CallEnded
				if json.Unmarshal(p.Data, &e) == nil && e.Meeting == call.Meeting {
					res.Reason = e.Reason
					return res, nil
				}
			case protocol.PushMeetingEnded:
				var e protocol.MeetingEvent
				if json.Unmarshal(p.Data, &e) == nil && e.Meeting == call.Meeting && ended == nil {
					ended = time.After(callEndGrace)
				}
			}
		case <-ended:
			res.Reason = protocol.CallHangup
			return res, nil
		case <-c.Done():
			return res, c.Err()
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
}

func hasJoined(members []protocol.MeetingMember, user string) bool {
	for _, m := range members {
		if m.User == user && m.Status == protocol.StatusJoined {
			return true
		}
	}
	return false
}
