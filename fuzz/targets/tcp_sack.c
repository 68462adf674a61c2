/*
 * Fuzz target: the TCP option walk that reads the peer's SACK blocks
 * (libos_tcp_inpacket() in libos/net/tcp.c), on a segment header and
 * options laid out as lwIP hands them over: the first opt1len option
 * bytes behind the header, the rest in a second buffer.
 *
 * Input: ack (4 bytes), snd_nxt - ack (2), opt1len (1), then the option
 * bytes (at most 40, as a TCP header allows). Whatever the options say,
 * the bytes counted as SACKed must be exactly those that some valid block
 * covers, each once (a bitmap over what is in flight says which), and the
 * highest SACKed byte must be in flight.
 *
 * At start-up the target also checks conn_write()'s refusal of a length
 * no chunk can hold.
 */
#include <string.h>

#include "shim.h"
#include "../../libos/net/tcp.c"

/* What tcp.c calls in lwIP and the rest of libos; the walk reaches none
 * of them, so any call is a failed check. */
#define NOT_REACHED(ret, name, ...) \
    ret name(__VA_ARGS__) { CHECK(!#name); abort(); }
NOT_REACHED(void, tcp_arg, struct tcp_pcb *pcb, void *arg)
NOT_REACHED(void, tcp_recv, struct tcp_pcb *pcb, tcp_recv_fn recv)
NOT_REACHED(void, tcp_sent, struct tcp_pcb *pcb, tcp_sent_fn sent)
NOT_REACHED(void, tcp_err, struct tcp_pcb *pcb, tcp_err_fn err)
NOT_REACHED(void, tcp_poll, struct tcp_pcb *pcb, tcp_poll_fn poll, u8_t interval)
NOT_REACHED(u32_t, tcp_update_rcv_ann_wnd, struct tcp_pcb *pcb)
NOT_REACHED(u8_t, pbuf_free, struct pbuf *p)
NOT_REACHED(struct pbuf *, pbuf_free_header, struct pbuf *q, u16_t size)
NOT_REACHED(void, pbuf_cat, struct pbuf *head, struct pbuf *tail)
NOT_REACHED(err_t, tcp_write, struct tcp_pcb *pcb, const void *dataptr, u16_t len, u8_t apiflags)
NOT_REACHED(err_t, tcp_rexmit, struct tcp_pcb *pcb)
NOT_REACHED(err_t, tcp_output, struct tcp_pcb *pcb)
NOT_REACHED(err_t, tcp_close, struct tcp_pcb *pcb)
NOT_REACHED(void, tcp_abort, struct tcp_pcb *pcb)
NOT_REACHED(struct tcp_pcb *, tcp_new_ip_type, u8_t type)
NOT_REACHED(err_t, tcp_bind, struct tcp_pcb *pcb, const ip_addr_t *ipaddr, u16_t port)
NOT_REACHED(struct tcp_pcb *, tcp_listen_with_backlog, struct tcp_pcb *pcb, u8_t backlog)
NOT_REACHED(void, tcp_accept, struct tcp_pcb *pcb, tcp_accept_fn accept)
NOT_REACHED(unsigned, libos_netif_offload_mss, void)
NOT_REACHED(int, libos_netif_ready, void)
NOT_REACHED(void, tcp_timer_needed, void)
u32_t tcp_ticks;
struct tcp_pcb *tcp_active_pcbs;
struct tcp_pcb *tcp_tw_pcbs;
NOT_REACHED(void, tcp_pcb_remove, struct tcp_pcb **pcblist, struct tcp_pcb *pcb)
NOT_REACHED(void, tcp_free, struct tcp_pcb *pcb)
NOT_REACHED(void, tcp_rst, const struct tcp_pcb *pcb, u32_t seqno, u32_t ackno,
        const ip_addr_t *local_ip, const ip_addr_t *remote_ip,
        u16_t local_port, u16_t remote_port)
NOT_REACHED(struct pbuf *, pbuf_alloc, pbuf_layer l, u16_t length, pbuf_type type)
NOT_REACHED(u16_t, pbuf_copy_partial, const struct pbuf *p, void *dataptr, u16_t len, u16_t offset)
NOT_REACHED(err_t, ip4_input, struct pbuf *p, struct netif *inp)
NOT_REACHED(size_t, libos_heap_size, void)
struct ip_globals ip_data;

/* A length whose chunk size would wrap is refused before any byte is
 * read: the old sizeof *k + cap wrapped to a small allocation and then
 * copied len bytes into it. */
static void check_write_overflow(void)
{
    static struct conn c;
    char byte = 'x';

    c.pcb = NULL;   /* no lwIP: conn_write() goes straight to the queue */
    CHECK(conn_write(&c, &byte, SIZE_MAX) == -1);
    CHECK(conn_write(&c, &byte, SIZE_MAX - sizeof(struct chunk) + 1) == -1);
    CHECK(c.head == NULL && c.queued == 0);
    CHECK(conn_write(&c, &byte, 1) == 0 && c.queued == 1);
    free_queue(&c);
    dirty_head = NULL;
    dirty_tail = &dirty_head;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    check_write_overflow();
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
            (uint32_t)p[2] << 8 | p[3];
}

/* The reference: the bytes above ack covered by the SACK blocks of opts
 * that lie inside (ack, ack + inflight], counted once each. */
static uint32_t covered(const uint8_t *opts, size_t optlen, uint32_t ack,
        uint32_t inflight, uint32_t *high)
{
    static uint8_t bit[65536 / 8];
    uint32_t n = 0;

    memset(bit, 0, sizeof bit);
    *high = 0;
    for (size_t i = 0; i < optlen; ) {
        if (opts[i] == 0)
            break;
        if (opts[i] == 1) {
            i++;
            continue;
        }
        if (i + 1 >= optlen || opts[i + 1] < 2 || i + opts[i + 1] > optlen)
            break;
        size_t olen = opts[i + 1];
        if (opts[i] == 5 && (olen - 2) % 8 == 0) {
            for (size_t b = i + 2; b < i + olen; b += 8) {
                uint32_t lo = be32(opts + b) - ack;
                uint32_t hi = be32(opts + b + 4) - ack;
                /* As sequence numbers: left < right, right in
                 * (ack, snd_nxt]; left clamped to ack. */
                if ((int32_t)(hi - lo) <= 0 || (int32_t)hi <= 0 ||
                        hi > inflight)
                    continue;
                if ((int32_t)lo < 0)
                    lo = 0;
                for (uint32_t k = lo; k < hi; k++) {
                    if (!(bit[k / 8] & 1 << k % 8))
                        n++;
                    bit[k / 8] |= 1 << k % 8;
                }
                if (hi > *high)
                    *high = hi;
            }
        }
        i += olen;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len < 7)
        return 0;
    uint32_t ack = be32(data);
    uint32_t inflight = (uint32_t)data[4] << 8 | data[5];
    size_t optlen = len - 7 > 40 ? 40 : len - 7;
    size_t opt1len = data[6] % (optlen + 1);
    const uint8_t *opts = data + 7;

    /* Header and first part in one exact allocation, the rest in another,
     * so ASan sees a read past either. */
    uint8_t *seg = malloc(TCP_HLEN + opt1len);
    uint8_t *opt2 = optlen > opt1len ? malloc(optlen - opt1len) : NULL;
    CHECK(seg != NULL);
    memset(seg, 0, TCP_HLEN);
    memcpy(seg + TCP_HLEN, opts, opt1len);
    if (opt2)
        memcpy(opt2, opts + opt1len, optlen - opt1len);
    struct tcp_hdr *hdr = (struct tcp_hdr *)seg;
    hdr->ackno = ack;
    TCPH_HDRLEN_FLAGS_SET(hdr, 5 + (optlen + 3) / 4, TCP_ACK);

    static struct tcp_pcb pcb;
    static struct conn c;
    memset(&pcb, 0, sizeof pcb);
    memset(&c, 0, sizeof c);
    pcb.state = ESTABLISHED;
    pcb.recv = on_recv;
    pcb.callback_arg = &c;
    pcb.lastack = ack;
    pcb.snd_nxt = ack + inflight;
    c.pcb = &pcb;

    CHECK(libos_tcp_inpacket(&pcb, hdr, (u16_t)optlen, (u16_t)opt1len,
            opt2 ? opt2 : NULL, NULL) == ERR_OK);
    struct recovery *r = &c.rec;
    uint32_t high;
    uint32_t want = covered(opts, optlen, ack, inflight, &high);
    CHECK(r->sacked <= inflight);
    CHECK(r->sacked == want);
    CHECK(r->have_sack == (want > 0));
    CHECK(r->sack_high == ack + high);
    dirty_head = NULL;
    dirty_tail = &dirty_head;
    free(seg);
    free(opt2);
    return 0;
}
