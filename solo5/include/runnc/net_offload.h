/*
 * runnc extension to Solo5's network API: transmit segmentation and
 * checksum offload (TSO) on a NET_BASIC device the tender attached with
 * --net-offload:NAME.
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

#endif
