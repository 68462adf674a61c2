/*
 * runnc extension to Solo5's network API: transmit segmentation and
 * checksum offload (TSO) on a NET_BASIC device the tender attached with
 * --net-offload:NAME, and large frames towards the guest (the tap's
 * offloads towards the guest) for a guest that announces it reads them
 * (RUNNC_FEATURE_VNET_RX in a features note, runnc/abi.h).
 *
 * Not part of solo5.h, which stays source-compatible with upstream Solo5:
 * apps that want offload include this header and test runnc_net_offload()
 * first. solo5_net_read() and solo5_net_write() behave as on any device.
 */
#ifndef RUNNC_NET_OFFLOAD_H
#define RUNNC_NET_OFFLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include "solo5.h"

/* Largest frame runnc_net_write_tso() takes: an Ethernet header and an
 * IPv4 packet of the largest size its total-length field can say. */
#define RUNNC_NET_TSO_MAX   (SOLO5_NET_HLEN + 65535)

/* True if device (h) was attached with offload (--net-offload). */
bool runnc_net_offload(solo5_handle_t h);

/*
 * Sends one Ethernet frame holding an IPv4 TCP segment (no VLAN tag) of up
 * to RUNNC_NET_TSO_MAX bytes, which the host kernel cuts into segments of
 * at most (mss) payload bytes, each with its own IP and TCP header (IP
 * length, id, TCP sequence number, flags and checksum fixed up).
 *
 * The TCP checksum field, at frame offset csum_start + csum_offset
 * (csum_start = 14 + IP header length, csum_offset = 16), must hold the
 * one's complement sum of the pseudo-header (addresses, protocol, TCP
 * length) folded to 16 bits and NOT inverted; the kernel sums from
 * csum_start to the end and stores the result there. The IP header
 * checksum must be complete.
 *
 * A frame that fits the device's MTU goes out as it is, with only the
 * checksum left to the kernel. A larger one needs mss > 0 and headers
 * plus mss within the MTU. Returns SOLO5_R_EINVAL for a device without
 * offload, a frame not IPv4/TCP or sizes that do not hold; otherwise as
 * solo5_net_write() (a full host queue drops the frame and says OK).
 */
solo5_result_t runnc_net_write_tso(solo5_handle_t h, const uint8_t *frame,
        size_t size, uint16_t mss, uint16_t csum_start, uint16_t csum_offset);

/* As runnc_net_write_tso(), for a frame with RUNNC_NET_TX_HEADROOM
 * writable bytes in front of it, which the call overwrites: the host's
 * header goes there, and the frame is written where it is, not copied. */
#define RUNNC_NET_TX_HEADROOM   10
solo5_result_t runnc_net_write_tso_inplace(solo5_handle_t h, uint8_t *frame,
        size_t size, uint16_t mss, uint16_t csum_start, uint16_t csum_offset);

/*
 * Receive. runnc_net_read_offload() reads one frame into buf +
 * RUNNC_NET_RX_HEADROOM: the first RUNNC_NET_RX_HEADROOM bytes of buf
 * are scratch (the read takes the host's virtio_net_hdr there, so the
 * frame needs no copy). buf must hold RUNNC_NET_RX_BUF bytes on a device
 * with runnc_net_rx_offload(), RUNNC_NET_RX_HEADROOM + MTU + 14 on any
 * other; it works on every NET_BASIC device.
 *
 * On a device with receive offload a frame may be one TCP/IPv4 segment
 * of up to RUNNC_NET_TSO_MAX bytes (rx->gso_size non-zero: the host did
 * not cut it into segments of that payload size), with the IP header's
 * total length and checksum those of the whole segment, and its TCP or
 * UDP checksum may be left partial (rx->csum).
 */
#define RUNNC_NET_RX_HEADROOM   10
#define RUNNC_NET_RX_BUF        (RUNNC_NET_RX_HEADROOM + RUNNC_NET_TSO_MAX)

/* What is known of a frame's TCP or UDP checksum. */
#define RUNNC_NET_CSUM_UNKNOWN  0   /* nothing: check it */
#define RUNNC_NET_CSUM_VALID    1   /* the host checked it */
/* The host's own stack left it to offload, as on a local link: the field
 * at csum_start + csum_offset holds the pseudo-header's sum (not
 * inverted) and the rest is not summed. The data never crossed a wire. */
#define RUNNC_NET_CSUM_PARTIAL  2

struct runnc_net_rx {
    uint8_t csum;           /* RUNNC_NET_CSUM_* */
    uint16_t gso_size;      /* see above; 0 for a frame within the MTU */
    uint16_t csum_start;    /* RUNNC_NET_CSUM_PARTIAL: frame offsets */
    uint16_t csum_offset;
};

/* True if frames read from device (h) may be larger than its MTU (the
 * tender turned the tap's receive offloads on). */
bool runnc_net_rx_offload(solo5_handle_t h);

/* As solo5_net_read(), into buf + RUNNC_NET_RX_HEADROOM (see above);
 * *rx says what the host left undone. A frame the host would have made
 * larger than the buffer is dropped (SOLO5_R_AGAIN if it was the last). */
solo5_result_t runnc_net_read_offload(solo5_handle_t h, uint8_t *buf,
        size_t size, size_t *read_size, struct runnc_net_rx *rx);

#endif
