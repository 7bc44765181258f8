package rules

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/module"
)

// A module larger than one tx (a Go rule is ~1.8 MB, a tx at most 64 KiB)
// is uploaded in order, one piece per MsgUploadCode, then deployed by its
// hash. Each merchant keeps at most one upload, so an abandoned one costs
// at most one module of state until the merchant's next upload replaces it.
//
//	u/<merchant 20>                   code hash 32, total 8, uploaded 8
//	uc/<merchant 20><offset 8>        one piece
func uploadKey(m chain.Address) []byte { return append([]byte("u/"), m[:]...) }
func pieceKey(m chain.Address, off uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte("uc/"), m[:]...), off)
}

func validateUpload(m *pb.MsgUploadCode) error {
	if err := validMerchant(m.Merchant); err != nil {
		return err
	}
	switch {
	case len(m.CodeHash) != 32:
		return chain.Wrapf(ErrRuleInvalid, "code_hash must be 32 bytes (SHA-256)")
	case len(m.Chunk) == 0 || m.Total == 0:
		return chain.Wrapf(ErrRuleInvalid, "empty piece or module")
	case m.Offset > m.Total || uint64(len(m.Chunk)) > m.Total-m.Offset:
		return chain.Wrapf(ErrRuleInvalid, "piece at %d of %d bytes runs past the module's %d bytes", m.Offset, len(m.Chunk), m.Total)
	}
	return nil
}

type upload struct {
	hash            [32]byte
	total, uploaded uint64
}

func (k *Keeper) upload(ctx *module.Context, m chain.Address) (upload, bool) {
	v := st(ctx).Get(uploadKey(m))
	if len(v) != 48 {
		return upload{}, false
	}
	var u upload
	copy(u.hash[:], v[:32])
	u.total, u.uploaded = binary.BigEndian.Uint64(v[32:40]), binary.BigEndian.Uint64(v[40:48])
	return u, true
}

// dropUpload deletes the merchant's upload and its pieces.
func (k *Keeper) dropUpload(ctx *module.Context, m chain.Address) {
	var keys [][]byte
	st(ctx).Iterate(append([]byte("uc/"), m[:]...), func(key, _ []byte) bool {
		keys = append(keys, append([]byte(nil), key...))
		return true
	})
	for _, key := range keys {
		st(ctx).Delete(key)
	}
	st(ctx).Delete(uploadKey(m))
}

func (k *Keeper) handleUpload(ctx *module.Context, m *pb.MsgUploadCode) error {
	mer, err := k.merchant(ctx, m.Merchant)
	if err != nil {
		return err
	}
	lim, err := k.limits(ctx)
	if err != nil {
		return err
	}
	if m.Total > uint64(lim.MaxCodeBytes) {
		return chain.Wrapf(ErrRuleInvalid, "size: %d bytes, at most %d", m.Total, lim.MaxCodeBytes)
	}
	u, ok := k.upload(ctx, mer.Address)
	if !ok || !bytes.Equal(u.hash[:], m.CodeHash) || u.total != m.Total {
		if m.Offset != 0 {
			return chain.Wrapf(ErrRuleInvalid, "a new upload starts at offset 0, not %d", m.Offset)
		}
		k.dropUpload(ctx, mer.Address)
		u = upload{total: m.Total}
		copy(u.hash[:], m.CodeHash)
	}
	if m.Offset != u.uploaded {
		return chain.Wrapf(ErrRuleInvalid, "the next piece starts at offset %d, not %d", u.uploaded, m.Offset)
	}
	st(ctx).Set(pieceKey(mer.Address, m.Offset), m.Chunk)
	u.uploaded += uint64(len(m.Chunk))
	v := append(append([]byte(nil), u.hash[:]...), binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, u.total), u.uploaded)...)
	st(ctx).Set(uploadKey(mer.Address), v)
	ctx.UseGas(uint64(len(m.Chunk)))
	ctx.Emit("rule_code_uploaded",
		module.Attr{Key: "merchant", Value: mer.Address.String(), Index: true},
		module.Attr{Key: "code_hash", Value: fmt.Sprintf("%x", m.CodeHash)},
		module.Attr{Key: "uploaded", Value: fmt.Sprint(u.uploaded)},
		module.Attr{Key: "total", Value: fmt.Sprint(u.total)})
	return nil
}

// takeUpload returns the merchant's completed upload with that hash and
// deletes it.
func (k *Keeper) takeUpload(ctx *module.Context, m chain.Address, hash []byte) ([]byte, error) {
	u, ok := k.upload(ctx, m)
	if !ok || !bytes.Equal(u.hash[:], hash) {
		return nil, chain.Wrapf(ErrRuleInvalid, "no upload of %x by %s", hash, m)
	}
	if u.uploaded != u.total {
		return nil, chain.Wrapf(ErrRuleInvalid, "the upload has %d of %d bytes", u.uploaded, u.total)
	}
	code := make([]byte, 0, u.total)
	st(ctx).Iterate(append([]byte("uc/"), m[:]...), func(_, v []byte) bool {
		code = append(code, v...)
		return true
	})
	if h := sum(code); !bytes.Equal(h[:], hash) {
		k.dropUpload(ctx, m)
		return nil, chain.Wrapf(ErrRuleInvalid, "the uploaded bytes hash to %x, not %x", h, hash)
	}
	k.dropUpload(ctx, m)
	return code, nil
}
