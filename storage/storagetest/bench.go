package storagetest

import (
	"strconv"
	"testing"
	"time"

	"huddle/storage"
)

// BenchAppendMessages measures AppendMessages, the group commit of chat
// messages, at several batch sizes on a store from open, and reports rows/s.
// Each batch spreads over 100 private conversations, as a server's batch
// does; open returns a store on a fresh database, which the benchmark closes.
func BenchAppendMessages(b *testing.B, open func(b *testing.B) storage.Store) {
	for _, size := range []int{1, 100, 500} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			s := open(b)
			defer closeStore(b, s)
			const users = 100
			names := make([]string, users)
			for i := range names {
				names[i] = "user" + strconv.Itoa(i)
				if err := s.CreateUser(b.Context(), storage.User{Name: names[i], Created: epoch}); err != nil {
					b.Fatal(err)
				}
			}
			batch := make([]storage.Message, size)
			body := "a message of a typical length, some sixty bytes or so....."
			n := 0
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				for i := range batch {
					from, to := names[n%users], names[(n/users+n+1)%users]
					if from == to {
						to = names[(n+1)%users]
					}
					batch[i] = storage.Message{
						Conversation: storage.PrivateConversation(from, to),
						Sender:       from,
						Recipient:    to,
						ClientMsgID:  strconv.Itoa(n),
						Body:         body,
						Created:      epoch,
					}
					n++
				}
				if _, err := s.AppendMessages(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
		})
	}
}
