package objects

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/podrun/podrun/api"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// continueToken is the API server's continue token (base64 of this JSON):
// the list's resourceVersion and the key the next page starts at.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

const continueVersion = "meta.k8s.io/v1"

func encodeContinue(rv uint64, key string) string {
	data, _ := json.Marshal(continueToken{APIVersion: continueVersion, ResourceVersion: int64(rv), StartKey: key})
	return base64.RawURLEncoding.EncodeToString(data)
}

// decodeContinue reads a token with the API server's checks and words.
func decodeContinue(token string) (uint64, string, error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, "", fmt.Errorf("continue key is not valid: %v", err)
	}
	var c continueToken
	if err := json.Unmarshal(data, &c); err != nil {
		return 0, "", fmt.Errorf("continue key is not valid: %v", err)
	}
	switch {
	case c.APIVersion != continueVersion:
		return 0, "", errors.New("continue key is not valid: server does not recognize this encoded version")
	case c.ResourceVersion <= 0:
		return 0, "", errors.New("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	case c.StartKey == "":
		return 0, "", errors.New("continue key is not valid")
	}
	return uint64(c.ResourceVersion), c.StartKey, nil
}

// errContinueExpired is the API server's 410 for a continue token older
// than what it can still serve consistently.
var errContinueExpired = apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")

// Page is one page of a list: its items and the list's metadata.
type Page[T runtime.Object] struct {
	Items []T
	Meta  metav1.ListMeta
}

// SelectPage keeps the items (sorted by namespace and name, as the store
// lists them, read at store resourceVersion rv) that the request's
// selectors match, from its continue token on, at most limit of them.
//
// A continued page is read from the current state but keeps the first
// page's resourceVersion, so that a watch from it replays every change
// since (an informer then converges); a token older than the watch
// history is 410 Expired, and the client starts over.
func SelectPage[T runtime.Object](b *Objects, req *ListRequest, items []T, rv uint64) (Page[T], error) {
	if want, err := strconv.ParseUint(req.Opts.ResourceVersion, 10, 64); err == nil && want > rv {
		return Page[T]{}, errTooLarge(want, rv)
	}
	start := ""
	if req.Opts.Continue != "" {
		crv, key, err := decodeContinue(req.Opts.Continue)
		if err != nil {
			return Page[T]{}, api.NewBadRequest(fmt.Sprintf("invalid continue token: %v", err))
		}
		if crv < b.hub.oldest() {
			return Page[T]{}, errContinueExpired
		}
		rv, start = crv, key
	}
	p := Page[T]{Items: make([]T, 0, len(items))}
	var remaining int64
	for _, o := range items {
		m, err := meta.Accessor(o)
		if err != nil {
			continue
		}
		key := m.GetNamespace() + "/" + m.GetName()
		if key < start || !req.Matches(o) {
			continue
		}
		switch {
		case req.Opts.Limit <= 0 || int64(len(p.Items)) < req.Opts.Limit:
			p.Items = append(p.Items, o)
		case p.Meta.Continue == "":
			p.Meta.Continue = encodeContinue(rv, key)
			remaining = 1
		default:
			remaining++
		}
	}
	p.Meta.ResourceVersion = strconv.FormatUint(rv, 10)
	if p.Meta.Continue != "" && req.labels.Empty() && req.fields.Empty() {
		p.Meta.RemainingItemCount = &remaining
	}
	return p, nil
}

// WatchPlan is how a watch request starts, decided as the API server
// does from resourceVersion and sendInitialEvents.
type WatchPlan struct {
	// ListFirst: the current objects come first as ADDED (no
	// resourceVersion or "0", or sendInitialEvents=true).
	ListFirst bool
	// EndBookmark: the initial objects are followed by a BOOKMARK with
	// the k8s.io/initial-events-end annotation (sendInitialEvents=true).
	EndBookmark bool
	// From, when not zero, is the resourceVersion the watch continues
	// after: the remembered changes since are sent first.
	From uint64
	// Bookmarks: allowWatchBookmarks=true.
	Bookmarks bool
}

// WatchPlan reads the request's start.
func (r *ListRequest) WatchPlan() (WatchPlan, error) {
	var rv uint64
	if v := r.Opts.ResourceVersion; v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return WatchPlan{}, api.NewBadRequest(fmt.Sprintf("invalid resource version: %q", v))
		}
		rv = n
	}
	p := WatchPlan{Bookmarks: r.Opts.AllowWatchBookmarks}
	switch sie := r.Opts.SendInitialEvents; {
	case sie != nil && *sie:
		p.ListFirst, p.EndBookmark = true, true
	case sie != nil || rv != 0:
		p.From = rv // 0 with sendInitialEvents=false: from now on
	default:
		p.ListFirst = true
	}
	return p, nil
}

// Subscribe starts the watch of a plan: from its resourceVersion, or from
// now on. An error is a Status to send as the stream's ERROR event.
func (b *Objects) Subscribe(r *ListRequest, p WatchPlan) (*Subscription, error) {
	if p.From == 0 {
		return b.Watch(r.Filter), nil
	}
	return b.WatchFrom(r.Filter, p.From)
}
