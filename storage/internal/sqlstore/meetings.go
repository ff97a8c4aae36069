package sqlstore

import (
	"context"
	"errors"
	"time"

	"huddle/storage"
)

// TODO(storage helper): replace these stubs with the real queries.
var errTODO = errors.New("meetings: not implemented yet")

func (s *Store) CreateMeeting(ctx context.Context, m storage.Meeting) (storage.Meeting, error) {
	return m, errTODO
}
func (s *Store) GetMeeting(ctx context.Context, id int64) (storage.Meeting, error) {
	return storage.Meeting{}, errTODO
}
func (s *Store) EndMeeting(ctx context.Context, id int64, now time.Time) error { return errTODO }
func (s *Store) LiveMeetings(ctx context.Context) ([]storage.Meeting, error)   { return nil, nil }
func (s *Store) MeetingMembers(ctx context.Context, id int64) ([]storage.MeetingMember, error) {
	return nil, errTODO
}
func (s *Store) SetMeetingMember(ctx context.Context, id int64, m storage.MeetingMember) error {
	return errTODO
}
func (s *Store) UserMeetings(ctx context.Context, user string) ([]storage.Meeting, error) {
	return nil, errTODO
}
func (s *Store) AddMediaSource(ctx context.Context, id int64, src storage.MediaSource) error {
	return errTODO
}
func (s *Store) RemoveMediaSource(ctx context.Context, id int64, user, track string, ssrc uint32) error {
	return errTODO
}
func (s *Store) MediaSources(ctx context.Context, id int64) ([]storage.MediaSource, error) {
	return nil, errTODO
}
