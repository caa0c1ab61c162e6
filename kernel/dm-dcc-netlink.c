// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-dcc generic netlink family: the channel between the target and dccd.
 *
 * Requests are parsed against one strict policy; every command needs
 * CAP_NET_ADMIN.  The kernel owns the set of pending misses: MISS events on
 * the "events" group are only hints (netlink may drop them), and the daemon
 * can always re-read the set with GET_REGIONS.  Region data never crosses
 * this channel.
 */
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <net/genetlink.h>

#include "dm-dcc.h"

static const struct nla_policy dcc_range_policy[DCC_RANGE_A_MAX + 1] = {
	[DCC_RANGE_A_START] = { .type = NLA_U64 },
	[DCC_RANGE_A_COUNT] = { .type = NLA_U64 },
};

static const struct nla_policy dcc_policy[DCC_A_MAX + 1] = {
	[DCC_A_MAJOR] = NLA_POLICY_MAX(NLA_U32, 4095),
	[DCC_A_MINOR] = { .type = NLA_U32 },	/* range checked by dcc_get() */
	[DCC_A_REG_ID] = { .type = NLA_U64 },
	[DCC_A_REGION] = { .type = NLA_U64 },
	[DCC_A_COUNT] = { .type = NLA_U64 },
	[DCC_A_SET] = NLA_POLICY_MAX(NLA_U8, __DCC_SET_MAX - 1),
	[DCC_A_ARM] = { .type = NLA_FLAG },
	[DCC_A_ERRNO] = NLA_POLICY_MAX(NLA_U32, 4095),
	[DCC_A_FORCE] = { .type = NLA_FLAG },
	[DCC_A_CONFIRMED] = { .type = NLA_FLAG },
	[DCC_A_CLEAN] = { .type = NLA_FLAG },
	[DCC_A_ROLE] = NLA_POLICY_RANGE(NLA_U8, DCC_ROLE_OWNER, DCC_ROLE_YIELDING),
	[DCC_A_GENERATION] = { .type = NLA_U64 },
	[DCC_A_ORIGIN] = NLA_POLICY_MAX(NLA_U8, DCC_ORIGIN_RESOLVED),
	[DCC_A_SPLIT] = NLA_POLICY_MAX(NLA_U8, DCC_SPLIT_NEW),
	[DCC_A_SPLIT_GENERATION] = { .type = NLA_U64 },
	[DCC_A_LEASE_MS] = { .type = NLA_U32 },	/* checked by dcc_nl_set_lease() */
	[DCC_A_SYNC] = NLA_POLICY_MAX(NLA_U8, 1),
	/* checked by dcc_nl_writes_done(): whole ids, at most a request's worth */
	[DCC_A_WRITE_IDS] = { .type = NLA_BINARY,
			      .len = DCC_MAX_WRITES_PER_REQUEST * sizeof(u64) },
	/* Reply-only attributes are refused in requests. */
	[DCC_A_RANGES] = NLA_POLICY_NESTED_ARRAY(dcc_range_policy),
	[DCC_A_RANGE] = { .type = NLA_REJECT },
	[DCC_A_NEXT] = { .type = NLA_REJECT },
	[DCC_A_REGION_SECTORS] = { .type = NLA_REJECT },
	[DCC_A_NR_REGIONS] = { .type = NLA_REJECT },
	[DCC_A_DATA_SECTORS] = { .type = NLA_REJECT },
	[DCC_A_DATA_MAJOR] = { .type = NLA_REJECT },
	[DCC_A_DATA_MINOR] = { .type = NLA_REJECT },
	[DCC_A_UUID] = { .type = NLA_REJECT },
	[DCC_A_MODE] = { .type = NLA_REJECT },
	[DCC_A_PAD] = { .type = NLA_REJECT },
	[DCC_A_LEASE] = { .type = NLA_REJECT },
	[DCC_A_WRITES] = { .type = NLA_REJECT },
};

static struct genl_family dcc_family;

enum { DCC_MCGRP_EVENTS_IDX, DCC_MCGRP_WRITES_IDX };

static const struct genl_multicast_group dcc_mcgrps[] = {
	[DCC_MCGRP_EVENTS_IDX] = { .name = DCC_GENL_MCGRP_EVENTS,
				   .flags = GENL_MCAST_CAP_NET_ADMIN },
	[DCC_MCGRP_WRITES_IDX] = { .name = DCC_GENL_MCGRP_WRITES,
				   .flags = GENL_MCAST_CAP_NET_ADMIN },
};

/* Look up the volume a request names (a reference), or an ERR_PTR. */
static struct dcc *dcc_nl_volume(struct genl_info *info)
{
	struct dcc *dcc;

	if (GENL_REQ_ATTR_CHECK(info, DCC_A_MAJOR) ||
	    GENL_REQ_ATTR_CHECK(info, DCC_A_MINOR))
		return ERR_PTR(-EINVAL);
	dcc = dcc_get(nla_get_u32(info->attrs[DCC_A_MAJOR]),
		      nla_get_u32(info->attrs[DCC_A_MINOR]));
	if (!dcc) {
		NL_SET_ERR_MSG(info->extack, "no active dcc device with that number");
		return ERR_PTR(-ENODEV);
	}
	return dcc;
}

static int dcc_nl_need(struct genl_info *info, int attr)
{
	return GENL_REQ_ATTR_CHECK(info, attr) ? -EINVAL : 0;
}

static u64 dcc_nl_u64(struct genl_info *info, int attr, u64 dflt)
{
	return info->attrs[attr] ? nla_get_u64(info->attrs[attr]) : dflt;
}

/*
 * The committed role state and lease flag: what REGISTER replies and
 * EVENT_STATE say.
 */
static int dcc_nl_put_role_state(struct sk_buff *msg, struct dcc *dcc)
{
	struct dcc_role_state rs;
	enum dcc_mode mode;
	bool lease, sync;

	dcc_get_role_state(dcc, &rs, &mode, &lease, &sync);
	if (nla_put_u8(msg, DCC_A_ROLE, rs.role) ||
	    nla_put_u8(msg, DCC_A_MODE, mode) ||
	    nla_put_u64_64bit(msg, DCC_A_GENERATION, rs.generation, DCC_A_PAD) ||
	    nla_put_u8(msg, DCC_A_ORIGIN, rs.origin) ||
	    nla_put_u8(msg, DCC_A_SPLIT, rs.split) ||
	    nla_put_u64_64bit(msg, DCC_A_SPLIT_GENERATION, rs.split_generation,
			      DCC_A_PAD) ||
	    nla_put_u8(msg, DCC_A_LEASE, lease) ||
	    nla_put_u8(msg, DCC_A_SYNC, sync))
		return -EMSGSIZE;
	return 0;
}

static int dcc_nl_register(struct sk_buff *skb, struct genl_info *info)
{
	struct dcc *dcc = dcc_nl_volume(info);
	struct sk_buff *msg;
	u64 reg_id = 0;
	void *hdr;
	int ret;

	if (IS_ERR(dcc))
		return PTR_ERR(dcc);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto out;
	}
	ret = dcc_op_register(dcc, info->snd_portid, &reg_id);
	if (ret) {
		NL_SET_ERR_MSG(info->extack, "another daemon is registered for this volume");
		nlmsg_free(msg);
		goto out;
	}
	hdr = genlmsg_put_reply(msg, info, &dcc_family, 0, DCC_CMD_REGISTER);
	if (!hdr ||
	    nla_put_u64_64bit(msg, DCC_A_REG_ID, reg_id, DCC_A_PAD) ||
	    nla_put_u32(msg, DCC_A_REGION_SECTORS, 1U << dcc->region_shift) ||
	    nla_put_u64_64bit(msg, DCC_A_NR_REGIONS, dcc->nr_regions, DCC_A_PAD) ||
	    nla_put_u64_64bit(msg, DCC_A_DATA_SECTORS, dcc->data_sectors, DCC_A_PAD) ||
	    nla_put_u32(msg, DCC_A_DATA_MAJOR, MAJOR(dcc->data_dev->bdev->bd_dev)) ||
	    nla_put_u32(msg, DCC_A_DATA_MINOR, MINOR(dcc->data_dev->bdev->bd_dev)) ||
	    dcc_nl_put_role_state(msg, dcc) ||
	    nla_put(msg, DCC_A_UUID, sizeof(dcc->uuid), dcc->uuid)) {
		nlmsg_free(msg);
		ret = -EMSGSIZE;
		goto out;
	}
	genlmsg_end(msg, hdr);
	ret = genlmsg_reply(msg, info);
out:
	dcc_put(dcc);
	return ret;
}

static int dcc_nl_unregister(struct sk_buff *skb, struct genl_info *info)
{
	struct dcc *dcc;
	int ret;

	ret = dcc_nl_need(info, DCC_A_REG_ID);
	if (ret)
		return ret;
	dcc = dcc_nl_volume(info);
	if (IS_ERR(dcc))
		return PTR_ERR(dcc);
	ret = dcc_op_unregister(dcc, info->snd_portid,
				nla_get_u64(info->attrs[DCC_A_REG_ID]));
	dcc_put(dcc);
	return ret;
}

static int dcc_nl_get_regions(struct sk_buff *skb, struct genl_info *info)
{
	struct dcc_range *ranges;
	struct nlattr *nest, *range;
	struct sk_buff *msg = NULL;
	struct dcc *dcc;
	u64 next = U64_MAX;
	void *hdr;
	int n, i, ret;

	ret = dcc_nl_need(info, DCC_A_SET);
	if (ret)
		return ret;
	if (info->attrs[DCC_A_ARM]) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[DCC_A_ARM],
				    "GET_REGIONS arms nothing since version 2: use DCC_CMD_ARM");
		return -EINVAL;
	}
	dcc = dcc_nl_volume(info);
	if (IS_ERR(dcc))
		return PTR_ERR(dcc);
	ranges = kmalloc_array(DCC_MAX_RANGES_PER_REPLY, sizeof(*ranges), GFP_KERNEL);
	if (!ranges) {
		ret = -ENOMEM;
		goto out;
	}
	n = dcc_op_get_regions(dcc, nla_get_u8(info->attrs[DCC_A_SET]),
			       dcc_nl_u64(info, DCC_A_REGION, 0), ranges,
			       DCC_MAX_RANGES_PER_REPLY, &next);
	if (n < 0) {
		ret = n;
		goto out;
	}
	/* Sized for the answer: most sets are a few ranges, or none. */
	msg = genlmsg_new(n * 48 + 256, GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto out;
	}
	ret = -EMSGSIZE;
	hdr = genlmsg_put_reply(msg, info, &dcc_family, 0, DCC_CMD_GET_REGIONS);
	if (!hdr)
		goto out;
	nest = nla_nest_start(msg, DCC_A_RANGES);
	if (!nest)
		goto out;
	for (i = 0; i < n; i++) {
		range = nla_nest_start(msg, DCC_A_RANGE);
		if (!range ||
		    nla_put_u64_64bit(msg, DCC_RANGE_A_START, ranges[i].start, DCC_RANGE_A_PAD) ||
		    nla_put_u64_64bit(msg, DCC_RANGE_A_COUNT, ranges[i].count, DCC_RANGE_A_PAD))
			goto out;
		nla_nest_end(msg, range);
	}
	nla_nest_end(msg, nest);
	if (next != U64_MAX &&
	    nla_put_u64_64bit(msg, DCC_A_NEXT, next, DCC_A_PAD))
		goto out;
	genlmsg_end(msg, hdr);
	ret = genlmsg_reply(msg, info);
	msg = NULL;
out:
	nlmsg_free(msg);
	kfree(ranges);
	dcc_put(dcc);
	return ret;
}

/*
 * The regions a request is about: REGION and COUNT (default 1), or RANGES,
 * up to DCC_MAX_RANGES_PER_REQUEST of them, sorted and disjoint.  Returns
 * how many ranges *@out holds (kfree() it), or an error.
 */
static int dcc_nl_ranges(struct genl_info *info, struct dcc_range **out)
{
	struct nlattr *pos, *tb[DCC_RANGE_A_MAX + 1];
	struct dcc_range *ranges;
	unsigned int n = 0, size = 1;
	int rem;

	if (!info->attrs[DCC_A_RANGES] && !info->attrs[DCC_A_REGION]) {
		NL_SET_ERR_MSG(info->extack, "need REGION or RANGES");
		return -EINVAL;
	}
	if (info->attrs[DCC_A_RANGES] &&
	    (info->attrs[DCC_A_REGION] || info->attrs[DCC_A_COUNT])) {
		NL_SET_ERR_MSG(info->extack, "REGION and COUNT, or RANGES, not both");
		return -EINVAL;
	}
	/*
	 * Sized for what the request holds: most hold a few ranges, and a
	 * table for the most (16 KiB) would be zeroed page by page on every
	 * request on kernels that initialise allocations.
	 */
	if (info->attrs[DCC_A_RANGES]) {
		size = 0;
		nla_for_each_nested(pos, info->attrs[DCC_A_RANGES], rem) {
			if (size == DCC_MAX_RANGES_PER_REQUEST) {
				NL_SET_ERR_MSG(info->extack, "too many ranges in one request");
				return -EINVAL;
			}
			size++;
		}
	}
	ranges = kmalloc_array(max(size, 1U), sizeof(*ranges), GFP_KERNEL);
	if (!ranges)
		return -ENOMEM;
	if (!info->attrs[DCC_A_RANGES]) {
		ranges[0].start = nla_get_u64(info->attrs[DCC_A_REGION]);
		ranges[0].count = dcc_nl_u64(info, DCC_A_COUNT, 1);
		*out = ranges;
		return 1;
	}
	nla_for_each_nested(pos, info->attrs[DCC_A_RANGES], rem) {
		/* Each element was validated against dcc_range_policy already. */
		if (nla_parse_nested(tb, DCC_RANGE_A_MAX, pos, dcc_range_policy, NULL) ||
		    !tb[DCC_RANGE_A_START] || !tb[DCC_RANGE_A_COUNT]) {
			NL_SET_ERR_MSG(info->extack, "a range needs START and COUNT");
			goto bad;
		}
		ranges[n].start = nla_get_u64(tb[DCC_RANGE_A_START]);
		ranges[n].count = nla_get_u64(tb[DCC_RANGE_A_COUNT]);
		if (n && ranges[n].start < ranges[n - 1].start + ranges[n - 1].count) {
			NL_SET_ERR_MSG(info->extack, "ranges must be sorted and disjoint");
			goto bad;
		}
		n++;
	}
	*out = ranges;
	return n;
bad:
	kfree(ranges);
	return -EINVAL;
}

/*
 * The volume and registration number of a request that changes state (a
 * reference to the volume), after checking the attributes it needs.
 */
static struct dcc *dcc_nl_registered(struct genl_info *info, u64 *reg_id)
{
	struct dcc *dcc;

	if (dcc_nl_need(info, DCC_A_REG_ID))
		return ERR_PTR(-EINVAL);
	dcc = dcc_nl_volume(info);
	if (!IS_ERR(dcc))
		*reg_id = nla_get_u64(info->attrs[DCC_A_REG_ID]);
	return dcc;
}

/* Explain an operation's error to the caller (extended ack). */
static int dcc_nl_explain(struct genl_info *info, int ret)
{
	switch (ret) {
	case -ESTALE:
		NL_SET_ERR_MSG(info->extack,
			       "not the registered daemon (stale registration)");
		break;
	case -ERANGE:
		NL_SET_ERR_MSG(info->extack, "region range is outside the volume");
		break;
	case -ENOENT:
		NL_SET_ERR_MSG(info->extack, "no fill in progress for that region");
		break;
	case -EBUSY:
		NL_SET_ERR_MSG(info->extack, "region is locked by I/O in progress");
		break;
	case -EEXIST:
		NL_SET_ERR_MSG(info->extack, "region is valid already");
		break;
	case -ENOTEMPTY:
		NL_SET_ERR_MSG(info->extack, "range holds dirty regions (use FORCE to drop them)");
		break;
	case -EROFS:
		NL_SET_ERR_MSG(info->extack, "target is in read-only mode after a metadata error");
		break;
	case -EIO:
		NL_SET_ERR_MSG(info->extack, "target is in fail mode, or the data device failed");
		break;
	case -E2BIG:
		NL_SET_ERR_MSG(info->extack, "too many regions for one request");
		break;
	case -ETIMEDOUT:
		NL_SET_ERR_MSG(info->extack,
			       "writes in flight did not end in time: nothing cleared");
		break;
	}
	return ret;
}

/* Reply with COUNT: what an ARM, CLEAR_DIRTY, WRITES_DONE or FILL_RELEASE did. */
static int dcc_nl_reply_count(struct genl_info *info, u8 cmd, u64 count)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &dcc_family, 0, cmd);
	if (!hdr || nla_put_u64_64bit(msg, DCC_A_COUNT, count, DCC_A_PAD)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/*
 * The registered target a command that carries ranges is for, and its
 * ranges: on success the caller frees *@ranges and puts the target.
 */
static struct dcc *dcc_nl_ranges_of(struct genl_info *info, u64 *reg_id,
				    struct dcc_range **ranges, int *n)
{
	struct dcc *dcc = dcc_nl_registered(info, reg_id);

	if (IS_ERR(dcc))
		return dcc;
	*n = dcc_nl_ranges(info, ranges);
	if (*n < 0) {
		dcc_put(dcc);
		return ERR_PTR(*n);
	}
	return dcc;
}

static int dcc_nl_fill_begin(struct sk_buff *skb, struct genl_info *info)
{
	struct dcc *dcc;
	u64 reg_id;
	int ret;

	ret = dcc_nl_need(info, DCC_A_REGION);
	if (ret)
		return ret;
	dcc = dcc_nl_registered(info, &reg_id);
	if (IS_ERR(dcc))
		return PTR_ERR(dcc);
	ret = dcc_op_fill_begin(dcc, info->snd_portid, reg_id,
				nla_get_u64(info->attrs[DCC_A_REGION]));
	dcc_put(dcc);
	return dcc_nl_explain(info, ret);
}

static int dcc_nl_fill_done(struct sk_buff *skb, struct genl_info *info)
{
	struct dcc_range *ranges;
	struct dcc *dcc;
	u64 reg_id;
	int ret, n;

	dcc = dcc_nl_ranges_of(info, &reg_id, &ranges, &n);
	if (IS_ERR(dcc))
		return PTR_ERR(dcc);
	ret = n ? dcc_op_fill_done(dcc, info->snd_portid, reg_id, ranges, n,
				   info->attrs[DCC_A_ERRNO] ?
				   nla_get_u32(info->attrs[DCC_A_ERRNO]) : 0) : 0;
	kfree(ranges);
	dcc_put(dcc);
	return dcc_nl_explain(info, ret);
}

static int dcc_nl_set_invalid(struct sk_buff *skb, struct genl_info *info)
{
	struct dcc_range *ranges;
	struct dcc *dcc;
	u64 reg_id;
	int ret, n;

	dcc = dcc_nl_ranges_of(info, &reg_id, &ranges, &n);
	if (IS_ERR(dcc))
		return PTR_ERR(dcc);
	ret = n ? dcc_op_set_invalid(dcc, info->snd_portid, reg_id, ranges, n,
				     !!info->attrs[DCC_A_FORCE]) : 0;
	kfree(ranges);
	dcc_put(dcc);
	return dcc_nl_explain(info, ret);
}

/* A request on ranges whose op counts what it did: ARM, CLEAR_DIRTY, FILL_RELEASE. */
static int dcc_nl_ranges_count(struct genl_info *info, u8 cmd,
			       int (*op)(struct dcc *dcc, u32 portid, u64 reg_id,
					 const struct dcc_range *ranges,
					 unsigned int n, u64 *count))
{
	struct dcc_range *ranges;
	struct dcc *dcc;
	u64 reg_id, count = 0;
	int ret, n;

	dcc = dcc_nl_ranges_of(info, &reg_id, &ranges, &n);
	if (IS_ERR(dcc))
		return PTR_ERR(dcc);
	ret = n ? op(dcc, info->snd_portid, reg_id, ranges, n, &count) : 0;
	kfree(ranges);
	dcc_put(dcc);
	if (ret)
		return dcc_nl_explain(info, ret);
	return dcc_nl_reply_count(info, cmd, count);
}

static int dcc_nl_arm(struct sk_buff *skb, struct genl_info *info)
{
	return dcc_nl_ranges_count(info, DCC_CMD_ARM, dcc_op_arm);
}

static int dcc_nl_clear_dirty(struct sk_buff *skb, struct genl_info *info)
{
	return dcc_nl_ranges_count(info, DCC_CMD_CLEAR_DIRTY,
				   info->attrs[DCC_A_CONFIRMED] ?
				   dcc_op_clear_confirmed : dcc_op_clear_dirty);
}

static int dcc_nl_fill_release(struct sk_buff *skb, struct genl_info *info)
{
	return dcc_nl_ranges_count(info, DCC_CMD_FILL_RELEASE, dcc_op_fill_release);
}

static int dcc_nl_set_role(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *split_gen = info->attrs[DCC_A_SPLIT_GENERATION];
	struct dcc_role_state rs = {};
	struct dcc_range *ranges = NULL;
	struct dcc *dcc;
	u64 reg_id;
	int ret, n = 0;

	ret = dcc_nl_need(info, DCC_A_ROLE) ?: dcc_nl_need(info, DCC_A_GENERATION);
	if (ret)
		return ret;
	/* The policy range-checked ROLE, ORIGIN and SPLIT. */
	rs.role = nla_get_u8(info->attrs[DCC_A_ROLE]);
	rs.generation = nla_get_u64(info->attrs[DCC_A_GENERATION]);
	if (info->attrs[DCC_A_ORIGIN])
		rs.origin = nla_get_u8(info->attrs[DCC_A_ORIGIN]);
	if (info->attrs[DCC_A_SPLIT])
		rs.split = nla_get_u8(info->attrs[DCC_A_SPLIT]);
	rs.split_generation = dcc_nl_u64(info, DCC_A_SPLIT_GENERATION, 0);
	if (rs.split == DCC_SPLIT_OLD &&
	    !dcc_split_generation_fits(rs.role, rs.split, rs.split_generation, rs.generation)) {
		NL_SET_ERR_MSG_ATTR(info->extack, split_gen ?: info->attrs[DCC_A_SPLIT],
				    "split old needs a SPLIT_GENERATION above GENERATION");
		return -EINVAL;
	}
	if (rs.split != DCC_SPLIT_OLD && rs.split_generation) {
		NL_SET_ERR_MSG_ATTR(info->extack, split_gen,
				    "SPLIT_GENERATION must be 0 unless split is old");
		return -EINVAL;
	}

	/* Version 8: the regions to make invalid in the same commit. */
	if (info->attrs[DCC_A_REGION] || info->attrs[DCC_A_COUNT]) {
		NL_SET_ERR_MSG(info->extack, "SET_ROLE takes regions as RANGES only");
		return -EINVAL;
	}
	if (info->attrs[DCC_A_FORCE] && !info->attrs[DCC_A_RANGES]) {
		NL_SET_ERR_MSG(info->extack, "FORCE needs RANGES");
		return -EINVAL;
	}
	if (info->attrs[DCC_A_CLEAN] && rs.role != DCC_ROLE_REPLICA) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[DCC_A_CLEAN], "CLEAN needs ROLE replica");
		return -EINVAL;
	}
	if (info->attrs[DCC_A_RANGES])
		dcc = dcc_nl_ranges_of(info, &reg_id, &ranges, &n);
	else
		dcc = dcc_nl_registered(info, &reg_id);
	if (IS_ERR(dcc))
		return PTR_ERR(dcc);
	ret = dcc_op_set_role(dcc, info->snd_portid, reg_id, &rs, ranges, n,
			      !!info->attrs[DCC_A_FORCE], !!info->attrs[DCC_A_CLEAN]);
	if (ret == -ESTALE && READ_ONCE(dcc->registered) &&
	    READ_ONCE(dcc->reg_id) == reg_id)
		NL_SET_ERR_MSG(info->extack, "generation is older than the volume's");
	else if (ret == -EBUSY && info->attrs[DCC_A_CLEAN])
		NL_SET_ERR_MSG(info->extack, "CLEAN from an owner, or a fill holds a region");
	else
		dcc_nl_explain(info, ret);
	kfree(ranges);
	dcc_put(dcc);
	return ret;
}

static int dcc_nl_set_lease(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *attr = info->attrs[DCC_A_LEASE_MS];
	struct dcc *dcc;
	u64 reg_id;
	u32 ms;
	int ret;

	ret = dcc_nl_need(info, DCC_A_LEASE_MS);
	if (ret)
		return ret;
	ms = nla_get_u32(attr);
	BUILD_BUG_ON(DCC_LEASE_MAX_MS != 600000);	/* the message says it */
	if (ms > DCC_LEASE_MAX_MS && ms != DCC_LEASE_NONE) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "lease longer than 600000 ms (DCC_LEASE_MAX_MS), and not DCC_LEASE_NONE");
		return -EINVAL;
	}

	dcc = dcc_nl_registered(info, &reg_id);
	if (IS_ERR(dcc))
		return PTR_ERR(dcc);
	ret = dcc_op_set_lease(dcc, info->snd_portid, reg_id, ms);
	dcc_put(dcc);
	return dcc_nl_explain(info, ret);
}

static int dcc_nl_set_sync(struct sk_buff *skb, struct genl_info *info)
{
	struct dcc *dcc;
	u64 reg_id;
	int ret;

	ret = dcc_nl_need(info, DCC_A_SYNC);
	if (ret)
		return ret;
	dcc = dcc_nl_registered(info, &reg_id);
	if (IS_ERR(dcc))
		return PTR_ERR(dcc);
	ret = dcc_op_set_sync(dcc, info->snd_portid, reg_id,
			      nla_get_u8(info->attrs[DCC_A_SYNC]));
	dcc_put(dcc);
	return dcc_nl_explain(info, ret);
}

static int dcc_nl_writes_done(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *attr = info->attrs[DCC_A_WRITE_IDS];
	struct dcc *dcc;
	u64 reg_id, count = 0;
	u64 *ids;
	int ret, len;

	ret = dcc_nl_need(info, DCC_A_WRITE_IDS);
	if (ret)
		return ret;
	len = nla_len(attr);
	if (!len || len % sizeof(u64)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "WRITE_IDS must hold one or more 64-bit ids");
		return -EINVAL;
	}
	dcc = dcc_nl_registered(info, &reg_id);
	if (IS_ERR(dcc))
		return PTR_ERR(dcc);
	ids = kmemdup(nla_data(attr), len, GFP_KERNEL);
	if (!ids) {
		dcc_put(dcc);
		return -ENOMEM;
	}
	ret = dcc_op_writes_done(dcc, reg_id, ids, len / sizeof(u64),
				 info->attrs[DCC_A_ERRNO] != NULL &&
				 nla_get_u32(info->attrs[DCC_A_ERRNO]) != 0,
				 !!info->attrs[DCC_A_CONFIRMED], &count);
	kfree(ids);
	dcc_put(dcc);
	if (ret)
		return dcc_nl_explain(info, ret);
	return dcc_nl_reply_count(info, DCC_CMD_WRITES_DONE, count);
}

static int dcc_nl_announce_writes(struct sk_buff *skb, struct genl_info *info)
{
	struct dcc *dcc;
	u64 reg_id;
	int ret;

	dcc = dcc_nl_registered(info, &reg_id);
	if (IS_ERR(dcc))
		return PTR_ERR(dcc);
	ret = dcc_op_announce_writes(dcc, reg_id);
	dcc_put(dcc);
	return dcc_nl_explain(info, ret);
}

static const struct genl_small_ops dcc_ops[] = {
	{ .cmd = DCC_CMD_REGISTER, .doit = dcc_nl_register, .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_UNREGISTER, .doit = dcc_nl_unregister, .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_GET_REGIONS, .doit = dcc_nl_get_regions, .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_FILL_BEGIN, .doit = dcc_nl_fill_begin, .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_FILL_DONE, .doit = dcc_nl_fill_done, .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_SET_INVALID, .doit = dcc_nl_set_invalid, .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_CLEAR_DIRTY, .doit = dcc_nl_clear_dirty, .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_SET_ROLE, .doit = dcc_nl_set_role, .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_ARM, .doit = dcc_nl_arm, .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_SET_LEASE, .doit = dcc_nl_set_lease, .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_SET_SYNC, .doit = dcc_nl_set_sync, .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_WRITES_DONE, .doit = dcc_nl_writes_done, .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_ANNOUNCE_WRITES, .doit = dcc_nl_announce_writes,
	  .flags = GENL_ADMIN_PERM },
	{ .cmd = DCC_CMD_FILL_RELEASE, .doit = dcc_nl_fill_release,
	  .flags = GENL_ADMIN_PERM },
};

static struct genl_family dcc_family __ro_after_init = {
	.name = DCC_GENL_NAME,
	.version = DCC_GENL_VERSION,
	.maxattr = DCC_A_MAX,
	.policy = dcc_policy,
	.module = THIS_MODULE,
	.small_ops = dcc_ops,
	.n_small_ops = ARRAY_SIZE(dcc_ops),
	.resv_start_op = DCC_CMD_EVENT_MISS,
	.mcgrps = dcc_mcgrps,
	.n_mcgrps = ARRAY_SIZE(dcc_mcgrps),
	.parallel_ops = true,
};

static void dcc_multicast(struct dcc *dcc, u8 cmd, u64 region)
{
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&dcc_family, &init_net, DCC_MCGRP_EVENTS_IDX))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_NOIO);
	if (!msg)
		return;	/* events are hints; the daemon re-reads the state */
	hdr = genlmsg_put(msg, 0, 0, &dcc_family, 0, cmd);
	if (!hdr ||
	    nla_put_u32(msg, DCC_A_MAJOR, MAJOR(dcc->md_dev)) ||
	    nla_put_u32(msg, DCC_A_MINOR, MINOR(dcc->md_dev)) ||
	    (cmd == DCC_CMD_EVENT_MISS &&
	     nla_put_u64_64bit(msg, DCC_A_REGION, region, DCC_A_PAD)) ||
	    (cmd == DCC_CMD_EVENT_STATE && dcc_nl_put_role_state(msg, dcc))) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&dcc_family, msg, 0, DCC_MCGRP_EVENTS_IDX, GFP_NOIO);
}

/*
 * Announce held writes to the "writes" group.  Returns false if the
 * message could not be sent (no memory): the caller tries again later.
 * With nobody listening it is not sent, and true: the writes wait for a
 * daemon's ANNOUNCE_WRITES, or fail after miss_timeout.
 */
bool dcc_notify_written(struct dcc *dcc, const struct dcc_written *w,
			unsigned int n)
{
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&dcc_family, &init_net, DCC_MCGRP_WRITES_IDX))
		return true;
	msg = genlmsg_new(nla_total_size(n * sizeof(*w)) + 64, GFP_NOIO);
	if (!msg)
		return false;
	hdr = genlmsg_put(msg, 0, 0, &dcc_family, 0, DCC_CMD_EVENT_WRITTEN);
	if (!hdr ||
	    nla_put_u32(msg, DCC_A_MAJOR, MAJOR(dcc->md_dev)) ||
	    nla_put_u32(msg, DCC_A_MINOR, MINOR(dcc->md_dev)) ||
	    nla_put(msg, DCC_A_WRITES, n * sizeof(*w), w)) {
		nlmsg_free(msg);
		return false;
	}
	genlmsg_end(msg, hdr);
	/* A full socket buffer drops it: the daemon asks for all again. */
	genlmsg_multicast(&dcc_family, msg, 0, DCC_MCGRP_WRITES_IDX, GFP_NOIO);
	return true;
}

void dcc_notify_miss(struct dcc *dcc, u64 region)
{
	dcc_multicast(dcc, DCC_CMD_EVENT_MISS, region);
}

void dcc_notify_state(struct dcc *dcc)
{
	dcc_multicast(dcc, DCC_CMD_EVENT_STATE, 0);
}

/* A netlink socket closed: a daemon that held it is gone. */
static int dcc_netlink_notify(struct notifier_block *nb, unsigned long state,
			      void *ptr)
{
	struct netlink_notify *n = ptr;

	if (state == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC &&
	    n->portid && net_eq(n->net, &init_net))
		dcc_portid_released(n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block dcc_netlink_nb = {
	.notifier_call = dcc_netlink_notify,
};

int dcc_netlink_init(void)
{
	int r;

	r = genl_register_family(&dcc_family);
	if (r)
		return r;
	r = netlink_register_notifier(&dcc_netlink_nb);
	if (r)
		genl_unregister_family(&dcc_family);
	return r;
}

void dcc_netlink_exit(void)
{
	netlink_unregister_notifier(&dcc_netlink_nb);
	genl_unregister_family(&dcc_family);
}
