// SPDX-License-Identifier: Apache-2.0
// Packet buffer pools and allocation (see pkt.h): a mempool whose objects are a struct pkt
// followed by headroom and data room, with buffer pointers and IOVAs set once at creation.
#include "dataplane/pkt.h"

#include <errno.h>

#include "dataplane/log.h"
#include "dataplane/mem.h"

LOG_MODULE("pkt");

#define PKT_POOL_MAGIC 0x706b7470u // "pktp": marks mempool_priv of packet pools

struct pkt_pool_priv {
	uint32_t magic;
	uint32_t data_room;
};

static void pkt_obj_iova(struct mempool *mp, void *obj, unsigned idx, void *arg)
{
	struct pkt *p = obj;

	p->buf_iova = mem_virt2iova(p->buf);
}

static void pkt_obj_init(struct mempool *mp, void *obj, unsigned idx, void *arg)
{
	struct pkt *p = obj;
	unsigned data_room = *(const unsigned *)arg;

	p->buf = p + 1;
	p->buf_size = (uint16_t)(PKT_HEADROOM + data_room);
	p->buf_iova = mem_virt2iova(p->buf);
	p->pool = mp;
	p->data_off = PKT_HEADROOM;
}

struct mempool *pkt_pool_create(
	const char *name, unsigned n, unsigned data_room, unsigned cache_size, int numa_node)
{
	struct pkt_pool_priv *priv;
	struct mempool *mp;

	// buf_size is 16 bits and holds headroom + data room.
	if (data_room == 0 || data_room > UINT16_MAX - PKT_HEADROOM) {
		errno = EINVAL;
		return NULL;
	}
	mp = mempool_create(name, n, sizeof(struct pkt) + PKT_HEADROOM + data_room, cache_size,
		numa_node, pkt_obj_init, &data_room);
	if (mp == NULL)
		return NULL;
	priv = mempool_priv(mp);
	priv->magic = PKT_POOL_MAGIC;
	priv->data_room = data_room;
	return mp;
}

static struct pkt_pool_priv *pkt_pool_priv(struct mempool *mp)
{
	struct pkt_pool_priv *priv = mempool_priv(mp);

	return priv->magic == PKT_POOL_MAGIC ? priv : NULL;
}

unsigned pkt_pool_data_room(struct mempool *mp)
{
	struct pkt_pool_priv *priv = pkt_pool_priv(mp);

	return priv ? priv->data_room : 0;
}

bool pkt_pool_is_pkt(struct mempool *mp)
{
	return pkt_pool_priv(mp) != NULL;
}

void pkt_pool_refresh_iova(struct mempool *mp)
{
	if (pkt_pool_priv(mp) != NULL)
		mempool_obj_foreach(mp, pkt_obj_iova, NULL);
}

static void pkt_pool_refresh_cb(struct mempool *mp, void *arg)
{
	pkt_pool_refresh_iova(mp);
}

void pkt_pools_refresh_iova(void)
{
	mempool_foreach(pkt_pool_refresh_cb, NULL);
}

static inline void pkt_reset(struct pkt *p)
{
	p->data_off = PKT_HEADROOM;
	p->len = 0;
	p->flags = 0;
	p->vlan_tci = 0;
	p->trace_id = 0;
}

struct pkt *pkt_alloc(struct mempool *mp)
{
	struct pkt *p;

	if (mempool_get_bulk(mp, (void **)&p, 1) < 0)
		return NULL;
	pkt_reset(p);
	return p;
}

int pkt_alloc_bulk(struct mempool *mp, struct pkt **pkts, unsigned n)
{
	int ret = mempool_get_bulk(mp, (void **)pkts, n);

	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < n; i++)
		pkt_reset(pkts[i]);
	return 0;
}

void pkt_free(struct pkt *p)
{
	if (p)
		mempool_put_bulk(p->pool, (void *const *)&p, 1);
}

void pkt_free_bulk(struct pkt **pkts, unsigned n)
{
	unsigned start = 0;

	while (start < n) {
		struct mempool *mp;
		unsigned end;

		// NULL entries are skipped, like pkt_free(NULL).
		if (pkts[start] == NULL) {
			start++;
			continue;
		}
		mp = pkts[start]->pool;
		end = start + 1;
		while (end < n && pkts[end] != NULL && pkts[end]->pool == mp)
			end++;
		mempool_put_bulk(mp, (void *const *)&pkts[start], end - start);
		start = end;
	}
}

struct pkt *pkt_copy(struct mempool *mp, const struct pkt *p)
{
	struct pkt *c;

	if (p->len > pkt_pool_data_room(mp))
		return NULL;
	c = pkt_alloc(mp);
	if (c == NULL)
		return NULL;
	memcpy(pkt_data(c), pkt_data(p), p->len);
	c->len = p->len;
	c->in_port = p->in_port;
	c->vlan_tci = p->vlan_tci;
	c->flags = p->flags;
	c->hash = p->hash;
	c->eth_type = p->eth_type;
	c->l3_off = p->l3_off;
	c->l4_off = p->l4_off;
	c->csum_start = p->csum_start;
	c->csum_off = p->csum_off;
	c->rxq = p->rxq;
	c->pipeline[0] = p->pipeline[0];
	c->pipeline[1] = p->pipeline[1];
	c->rx_tsc = p->rx_tsc;
	c->trace_id = p->trace_id;
	return c;
}
