package tests

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/chacha20"
)

// chachaHost runs libos's ChaCha20 built for the host (chacha_host) and
// returns its one line of output.
func chachaHost(t *testing.T, args ...string) string {
	t.Helper()
	bin := built(t, "libos/tests/chacha_host")
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// keystream is n bytes of Go's ChaCha20 keystream under key and nonce
// from block counter on.
func keystream(t *testing.T, key, nonce []byte, counter uint32, n int) []byte {
	t.Helper()
	c, err := chacha20.NewUnauthenticatedCipher(key, nonce)
	if err != nil {
		t.Fatal(err)
	}
	c.SetCounter(counter)
	ks := make([]byte, n)
	c.XORKeyStream(ks, ks)
	return ks
}

// fastKeyErasure is what libos's generator (chacha20.h) must put out for
// key: each refill is 4 blocks from counter 0 with nonce 0, the first 32
// bytes the next key, the other 224 the output.
func fastKeyErasure(t *testing.T, key []byte, n int) []byte {
	t.Helper()
	key = append([]byte(nil), key...)
	var out []byte
	for len(out) < n {
		ks := keystream(t, key, make([]byte, chacha20.NonceSize), 0, 256)
		key = ks[:32]
		out = append(out, ks[32:]...)
	}
	return out[:n]
}

func secretBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChaCha20: libos's ChaCha20 (libos/core/chacha20.c, the generator
// behind libos_random, TCP ports and sequence numbers, kv's choices)
// gives RFC 8439's test vector and the same bytes as
// golang.org/x/crypto/chacha20 for random keys; its fast-key-erasure
// generator and its tuple hash are exactly the construction chacha20.h
// describes.
func TestChaCha20(t *testing.T) {
	t.Run("rfc8439", func(t *testing.T) {
		// RFC 8439, 2.3.2: key 00..1f, counter 1, nonce 00:00:00:09:00:00:00:4a:00:00:00:00.
		want := "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9a" +
			"c3d46c4ed2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"
		key := "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
		if got := chachaHost(t, "block", key, "1", "000000090000004a00000000"); got != want {
			t.Errorf("block of RFC 8439 2.3.2:\n got %s\nwant %s", got, want)
		}
	})
	t.Run("blocks", func(t *testing.T) {
		for i, counter := range []uint32{0, 1, 7, 0xffffffff} {
			key, nonce := secretBytes(t, 32), secretBytes(t, 12)
			got := chachaHost(t, "block", hex.EncodeToString(key), strconv.FormatUint(uint64(counter), 10), hex.EncodeToString(nonce))
			if want := hex.EncodeToString(keystream(t, key, nonce, counter, 64)); got != want {
				t.Errorf("block %d (key %x nonce %x counter %d):\n got %s\nwant %s", i, key, nonce, counter, got, want)
			}
		}
	})
	t.Run("generator", func(t *testing.T) {
		// Reads across refills, of every size class: single bytes,
		// words, a refill's worth and more at once.
		sizes := []int{1, 3, 4, 8, 100, 224, 223, 2, 500, 8, 1000, 4096, 7}
		total := 0
		var list []string
		for _, n := range sizes {
			total += n
			list = append(list, strconv.Itoa(n))
		}
		for i := 0; i < 3; i++ {
			key := secretBytes(t, 32)
			got := chachaHost(t, "rng", hex.EncodeToString(key), strings.Join(list, ","))
			want := hex.EncodeToString(fastKeyErasure(t, key, total))
			if got != want {
				at := 0
				for at < len(got) && at < len(want) && got[at] == want[at] {
					at++
				}
				t.Fatalf("generator keyed with %x differs from byte %d on:\n got ...%.64s\nwant ...%.64s", key, at/2, got[at:], want[at:])
			}
		}
		// And not the key itself, nor the plain keystream: the first
		// 32 bytes of each refill never leave it.
		key := secretBytes(t, 32)
		got, _ := hex.DecodeString(chachaHost(t, "rng", hex.EncodeToString(key), "64"))
		if ks := keystream(t, key, make([]byte, 12), 0, 64); bytes.Equal(got, ks) || bytes.Contains(got, key) {
			t.Errorf("generator output %x shows its key or next key", got)
		}
	})
	t.Run("hash", func(t *testing.T) {
		for i := 0; i < 4; i++ {
			key, tuple := secretBytes(t, 32), secretBytes(t, 12)
			got := chachaHost(t, "hash", hex.EncodeToString(key), hex.EncodeToString(tuple))
			want := fmt.Sprint(binary.LittleEndian.Uint32(keystream(t, key, tuple, 0, 4)))
			if got != want {
				t.Errorf("hash of %x under %x: %s, want %s", tuple, key, got, want)
			}
		}
	})
}
