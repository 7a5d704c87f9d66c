package witness

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/chipgate/chipgate/internal/ledger"
)

// MaxProofLines is the most consistency proof lines a request may carry
// (C2SP tlog-witness).
const MaxProofLines = 63

// maxRequest bounds an add-checkpoint body: an old size line, 63 hashes and
// a checkpoint note fit in far less.
const maxRequest = 32 << 10

// SizeContentType is the media type of a 409 response that carries the
// witness's latest size.
const SizeContentType = "text/x.tlog.size"

// Request is the body of an add-checkpoint call: the size of the
// checkpoint the log believes the witness last cosigned, the consistency
// proof from it to the new checkpoint, and the new checkpoint (a signed
// note, which may already carry other signatures).
type Request struct {
	OldSize    uint64
	Proof      []ledger.Hash
	Checkpoint []byte
}

// Marshal writes the request body:
//
//	old <size>
//	<base64 proof hash>   (zero or more lines)
//	<empty line>
//	<checkpoint note>
func (r Request) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("old ")
	b.WriteString(strconv.FormatUint(r.OldSize, 10))
	b.WriteByte('\n')
	for _, h := range r.Proof {
		b.WriteString(h.String())
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(r.Checkpoint)
	return b.Bytes()
}

// ParseRequest parses an add-checkpoint body strictly: a decimal old size
// without leading zeroes, at most MaxProofLines hashes of 32 bytes in
// standard base64, an empty line, then the note (checked by the caller).
func ParseRequest(body []byte) (Request, error) {
	if len(body) > maxRequest {
		return Request{}, fmt.Errorf("witness: a request of %d bytes, at most %d", len(body), maxRequest)
	}
	line, rest, ok := bytes.Cut(body, []byte("\n"))
	size, found := bytes.CutPrefix(line, []byte("old "))
	n, err := strconv.ParseUint(string(size), 10, 64)
	if !ok || !found || err != nil || strconv.FormatUint(n, 10) != string(size) {
		return Request{}, errors.New("witness: the first line must be \"old <size>\"")
	}
	r := Request{OldSize: n}
	for {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return Request{}, errors.New("witness: the proof must end with an empty line")
		}
		rest = after
		if len(line) == 0 {
			break
		}
		if len(r.Proof) == MaxProofLines {
			return Request{}, fmt.Errorf("witness: more than %d proof lines", MaxProofLines)
		}
		var h ledger.Hash
		if err := h.UnmarshalText(line); err != nil {
			return Request{}, fmt.Errorf("witness: proof line %d: %w", len(r.Proof)+1, err)
		}
		r.Proof = append(r.Proof, h)
	}
	if len(rest) == 0 {
		return Request{}, errors.New("witness: no checkpoint after the proof")
	}
	r.Checkpoint = rest
	return r, nil
}

// ConflictError is the witness's answer to an old size that is not the size
// of the latest checkpoint it cosigned for the log: Size is that size (409
// Conflict, text/x.tlog.size). The log retries with a proof from it.
type ConflictError struct {
	Size uint64
}

// Error says what the witness has.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("witness: the latest checkpoint cosigned has size %d", e.Size)
}

// Error is a refusal with its HTTP status (400, 403, 404, 409, 422).
// Evidence is set when the witness caught the log signing two histories.
type Error struct {
	Status   int
	Msg      string
	Evidence *ledger.SplitViewError
}

// Error returns the message.
func (e *Error) Error() string { return "witness: " + e.Msg }

// signatureLines checks that b is one or more note signature lines.
func signatureLines(b []byte) error {
	if len(b) == 0 {
		return errors.New("no signature lines")
	}
	for rest := b; len(rest) > 0; {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return errors.New("a signature line without a newline")
		}
		f := bytes.SplitN(line, []byte(" "), 3)
		if len(f) != 3 || string(f[0]) != "—" {
			return fmt.Errorf("%q is not a note signature line", line)
		}
		if _, err := base64.StdEncoding.DecodeString(string(f[2])); err != nil {
			return fmt.Errorf("%q is not a note signature line", line)
		}
		rest = after
	}
	return nil
}
