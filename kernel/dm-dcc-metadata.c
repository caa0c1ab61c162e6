// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-dcc metadata: load and check the superblock and bitmaps, and commit
 * changes.  Errors are returned; what they mean for the target (its mode,
 * its events) is decided in dm-dcc-target.c.
 *
 * Crash-safety rules, which the rest of the target relies on:
 *  - a bit enters hot_valid / hot_dirty only after the block holding it is
 *    on disk, so .map never acts on state a crash could take back;
 *  - valid bits are only written after the data device was flushed, so a
 *    valid bit on disk never points at data still in a volatile cache;
 *  - a dirty bit cleared because its region was replicated is only written
 *    after the data device was flushed, so the copy the other site took is
 *    never newer than what survives a power cut here;
 *  - every metadata write is FUA, and the superblock fits one sector.
 */
#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/crc32.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dm-dcc.h"

#ifndef __LITTLE_ENDIAN
#error "dm-dcc keeps its bitmaps in CPU order; only little-endian is supported"
#endif

#define BLOCK_SECTORS (DCC_META_BLOCK_SIZE >> SECTOR_SHIFT)
#define BLOCK_LONGS (DCC_META_BLOCK_SIZE / sizeof(unsigned long))

static u32 dcc_sb_csum(const struct dcc_disk_sb *sb)
{
	return crc32_le(~0U, (const u8 *)sb + 4, DCC_SB_SIZE - 4) ^ ~0U;
}

static struct page *dcc_buf_page(void *p)
{
	return is_vmalloc_addr(p) ? vmalloc_to_page(p) : virt_to_page(p);
}

/*
 * Synchronous I/O of nr whole blocks starting at @block of @bdev, from or
 * into @buf (page aligned, kmalloc or vmalloc).  The bios are chained so
 * they run in parallel.
 */
static int dcc_block_io(struct block_device *bdev, blk_opf_t opf, u64 block,
			void *buf, u64 nr)
{
	struct bio *bio = NULL, *prev = NULL;
	u64 i = 0;
	int r;

	while (i < nr) {
		unsigned int vecs = min_t(u64, nr - i, BIO_MAX_VECS);

		bio = bio_alloc(bdev, vecs, opf, GFP_NOIO);
		bio->bi_iter.bi_sector = (block + i) * BLOCK_SECTORS;
		for (; vecs; vecs--, i++)
			__bio_add_page(bio, dcc_buf_page(buf + i * DCC_META_BLOCK_SIZE),
				       DCC_META_BLOCK_SIZE, 0);
		if (prev) {
			bio_chain(prev, bio);
			submit_bio(prev);
		}
		prev = bio;
	}
	if (!bio)
		return 0;
	r = submit_bio_wait(bio);
	bio_put(bio);
	return r;
}

/* Write the blocks collected in commit_buf to their places, in parallel. */
static int dcc_write_commit_blocks(struct dcc *dcc, unsigned int n)
{
	struct block_device *bdev = dcc->meta_dev->bdev;
	struct bio *bio = NULL, *prev = NULL;
	unsigned int i;
	int r;

	for (i = 0; i < n; i++) {
		u64 b = dcc->commit_idx[i];
		u64 disk = b < dcc->bitmap_blocks ? dcc->valid_start + b :
			   dcc->dirty_start + b - dcc->bitmap_blocks;

		bio = bio_alloc(bdev, 1, REQ_OP_WRITE | REQ_SYNC | REQ_FUA, GFP_NOIO);
		bio->bi_iter.bi_sector = disk * BLOCK_SECTORS;
		__bio_add_page(bio, dcc_buf_page(dcc->commit_buf + i * DCC_META_BLOCK_SIZE),
			       DCC_META_BLOCK_SIZE, 0);
		if (prev) {
			bio_chain(prev, bio);
			submit_bio(prev);
		}
		prev = bio;
	}
	if (!bio)
		return 0;
	r = submit_bio_wait(bio);
	bio_put(bio);
	return r;
}

static void __dcc_encode_sb(struct dcc *dcc, struct dcc_disk_sb *sb)
{
	memset(sb, 0, DCC_META_BLOCK_SIZE);
	sb->magic = cpu_to_le32(DCC_SB_MAGIC);
	sb->version = cpu_to_le32(DCC_SB_VERSION);
	sb->flags = cpu_to_le32((dcc->sb_lease ? DCC_SB_F_LEASE : 0) |
				(dcc->sb_sync ? DCC_SB_F_SYNC : 0) |
				(dcc->sb_ahead ? DCC_SB_F_AHEAD : 0));
	memcpy(sb->uuid, dcc->uuid, sizeof(sb->uuid));
	sb->data_sectors = cpu_to_le64(dcc->data_sectors);
	sb->nr_regions = cpu_to_le64(dcc->nr_regions);
	sb->generation = cpu_to_le64(dcc->sb_rs.generation);
	sb->region_sectors = cpu_to_le32(1U << dcc->region_shift);
	sb->role = cpu_to_le32(dcc->sb_rs.role);
	sb->valid_start = cpu_to_le64(dcc->valid_start);
	sb->dirty_start = cpu_to_le64(dcc->dirty_start);
	sb->bitmap_blocks = cpu_to_le64(dcc->bitmap_blocks);
	sb->origin = cpu_to_le32(dcc->sb_rs.origin);
	sb->split = cpu_to_le32(dcc->sb_rs.split);
	sb->split_generation = cpu_to_le64(dcc->sb_rs.split_generation);
	sb->csum = cpu_to_le32(dcc_sb_csum(sb));
}

static unsigned long *dcc_bitmap_alloc(struct dcc *dcc)
{
	return kvzalloc(dcc->bitmap_blocks * DCC_META_BLOCK_SIZE, GFP_KERNEL);
}

void dcc_meta_free(struct dcc *dcc)
{
	kvfree(dcc->valid);
	kvfree(dcc->dirty);
	kvfree(dcc->hot_valid);
	kvfree(dcc->hot_dirty);
	kvfree(dcc->armed);
	kvfree(dcc->clearing);
	kvfree(dcc->unconfirmed);
	bitmap_free(dcc->changed);
	bitmap_free(dcc->flush_before);
	kvfree(dcc->commit_buf);
	kfree(dcc->commit_idx);
	kfree(dcc->sync_buf);
	kfree(dcc->sb_buf);
}

static int dcc_check_sb(struct dcc *dcc, struct dcc_disk_sb *sb, char **error)
{
	u64 data_sectors, nr_regions, bitmap_blocks, valid_start, dirty_start;
	u64 generation, split_generation;
	u32 region_sectors, role, origin, split, flags;
	sector_t meta_size = bdev_nr_sectors(dcc->meta_dev->bdev);
	sector_t data_size = bdev_nr_sectors(dcc->data_dev->bdev);

	if (le32_to_cpu(sb->magic) != DCC_SB_MAGIC) {
		*error = "Metadata device is not formatted: run dccctl format-meta";
		return -EINVAL;
	}
	if (le32_to_cpu(sb->csum) != dcc_sb_csum(sb)) {
		*error = "Metadata superblock checksum mismatch: metadata is corrupt";
		return -EILSEQ;
	}
	if (le32_to_cpu(sb->version) != DCC_SB_VERSION) {
		DMERR("metadata version %u, this module supports %u",
		      le32_to_cpu(sb->version), DCC_SB_VERSION);
		*error = "Unsupported metadata version";
		return -EINVAL;
	}
	flags = le32_to_cpu(sb->flags);
	if (flags & ~DCC_SB_F_ALL) {
		DMERR("metadata superblock flags %#x, this module knows %#x",
		      flags, DCC_SB_F_ALL);
		*error = "Metadata superblock has unknown flags (from a newer module, or corrupt)";
		return -EINVAL;
	}

	data_sectors = le64_to_cpu(sb->data_sectors);
	nr_regions = le64_to_cpu(sb->nr_regions);
	region_sectors = le32_to_cpu(sb->region_sectors);
	bitmap_blocks = le64_to_cpu(sb->bitmap_blocks);
	valid_start = le64_to_cpu(sb->valid_start);
	dirty_start = le64_to_cpu(sb->dirty_start);
	role = le32_to_cpu(sb->role);
	generation = le64_to_cpu(sb->generation);
	origin = le32_to_cpu(sb->origin);
	split = le32_to_cpu(sb->split);
	split_generation = le64_to_cpu(sb->split_generation);

	if (!is_power_of_2(region_sectors) ||
	    region_sectors < DCC_MIN_REGION_SECTORS ||
	    region_sectors > DCC_MAX_REGION_SECTORS ||
	    !data_sectors ||
	    nr_regions != DIV_ROUND_UP_ULL(data_sectors, region_sectors) ||
	    bitmap_blocks != DIV_ROUND_UP_ULL(nr_regions, DCC_META_BLOCK_SIZE * 8ULL) ||
	    valid_start != 1 || dirty_start != valid_start + bitmap_blocks ||
	    role < DCC_ROLE_OWNER || role > DCC_ROLE_YIELDING) {
		*error = "Metadata superblock is inconsistent: metadata is corrupt";
		return -EINVAL;
	}
	if (origin > DCC_ORIGIN_RESOLVED) {
		*error = "Metadata superblock has an unknown origin: metadata is corrupt";
		return -EINVAL;
	}
	if (split > DCC_SPLIT_NEW) {
		*error = "Metadata superblock has an unknown split state: metadata is corrupt";
		return -EINVAL;
	}
	if (!dcc_split_generation_fits(role, split, split_generation, generation)) {
		*error = "Metadata superblock split generation does not fit its split state: metadata is corrupt";
		return -EINVAL;
	}
	if ((dirty_start + bitmap_blocks) * BLOCK_SECTORS > meta_size) {
		*error = "Metadata device is too small for the volume in its superblock";
		return -EINVAL;
	}
	if (data_size < data_sectors) {
		*error = "Data device is smaller than the volume size in the metadata";
		return -EINVAL;
	}
	if (dcc->ti->len != data_sectors) {
		DMERR("target length %llu sectors, metadata says %llu",
		      (unsigned long long)dcc->ti->len, data_sectors);
		*error = "Target length does not match the volume size in the metadata";
		return -EINVAL;
	}

	memcpy(dcc->uuid, sb->uuid, sizeof(dcc->uuid));
	dcc->data_sectors = data_sectors;
	dcc->nr_regions = nr_regions;
	dcc->region_shift = ilog2(region_sectors);
	dcc->bitmap_blocks = bitmap_blocks;
	dcc->valid_start = valid_start;
	dcc->dirty_start = dirty_start;
	dcc->rs.role = role;
	dcc->rs.generation = generation;
	dcc->rs.origin = origin;
	dcc->rs.split = split;
	dcc->rs.split_generation = split_generation;
	dcc->sb_rs = dcc->rs;
	dcc->serves = dcc_role_state_serves(&dcc->rs);
	dcc->lease = flags & DCC_SB_F_LEASE;
	dcc->sb_lease = dcc->lease;
	dcc->sync = flags & DCC_SB_F_SYNC;
	dcc->sb_sync = dcc->sync;
	dcc->sb_ahead = flags & DCC_SB_F_AHEAD;
	return 0;
}

/* Bits past nr_regions must be zero; anything else is corruption. */
static bool dcc_tail_clean(struct dcc *dcc, unsigned long *bitmap)
{
	u64 total = dcc->bitmap_blocks * DCC_META_BLOCK_SIZE * 8;

	return find_next_bit(bitmap, total, dcc->nr_regions) >= total;
}

static int dcc_read_sb(struct dcc *dcc, char **error)
{
	struct block_device *bdev = dcc->meta_dev->bdev;
	int ret;

	if (bdev_nr_sectors(bdev) < BLOCK_SECTORS) {
		*error = "Metadata device is too small to hold a superblock";
		return -EINVAL;
	}
	ret = dcc_block_io(bdev, REQ_OP_READ, 0, dcc->sb_buf, 1);
	if (ret) {
		*error = "Cannot read metadata superblock";
		return ret;
	}
	return dcc_check_sb(dcc, dcc->sb_buf, error);
}

static int dcc_read_bitmaps(struct dcc *dcc, char **error);

/*
 * (Re)read the superblock and both bitmaps into the buffers dcc_meta_load()
 * allocated.  Also used when a new table takes over from an old one, which
 * committed everything when it was suspended.
 */
int dcc_meta_read(struct dcc *dcc, char **error)
{
	u64 nr_regions = dcc->nr_regions, bitmap_blocks = dcc->bitmap_blocks;
	unsigned int shift = dcc->region_shift;
	int ret;

	ret = dcc_read_sb(dcc, error);
	if (ret)
		return ret;
	if (nr_regions != dcc->nr_regions || shift != dcc->region_shift ||
	    bitmap_blocks != dcc->bitmap_blocks) {
		*error = "Metadata geometry changed under a loaded table";
		return -EINVAL;
	}
	return dcc_read_bitmaps(dcc, error);
}

/* Read both bitmaps (the superblock is read already) and derive the rest. */
static int dcc_read_bitmaps(struct dcc *dcc, char **error)
{
	struct block_device *bdev = dcc->meta_dev->bdev;
	u64 r, total;
	int ret;

	ret = dcc_block_io(bdev, REQ_OP_READ, dcc->valid_start, dcc->valid,
			   dcc->bitmap_blocks);
	if (!ret)
		ret = dcc_block_io(bdev, REQ_OP_READ, dcc->dirty_start, dcc->dirty,
				   dcc->bitmap_blocks);
	if (ret) {
		*error = "Cannot read metadata bitmaps";
		return ret;
	}
	if (!dcc_tail_clean(dcc, dcc->valid) || !dcc_tail_clean(dcc, dcc->dirty)) {
		*error = "Metadata bitmaps have bits past the last region: metadata is corrupt";
		return -EILSEQ;
	}

	/*
	 * A region both dirty and invalid is what a crash leaves when a whole
	 * region write to an invalid region was cut off before the write was
	 * acknowledged: its content comes from the peer, so drop the bit.
	 */
	total = dcc->nr_regions;
	bitmap_zero(dcc->changed, 2 * dcc->bitmap_blocks);
	for (r = find_first_bit(dcc->dirty, total); r < total;
	     r = find_next_bit(dcc->dirty, total, r + 1)) {
		if (!test_bit(r, dcc->valid)) {
			__clear_bit(r, dcc->dirty);
			__dcc_mark_changed(dcc, dcc->dirty, r);
		}
	}
	/* The hot copies start as what is on disk (less the bits just dropped). */
	bitmap_copy(dcc->hot_valid, dcc->valid, total);
	bitmap_copy(dcc->hot_dirty, dcc->dirty, total);
	bitmap_zero(dcc->armed, total);
	bitmap_zero(dcc->clearing, total);
	/* What the other site confirmed before the load is not known. */
	bitmap_copy(dcc->unconfirmed, dcc->dirty, total);
	atomic64_set(&dcc->nr_unconfirmed, bitmap_weight(dcc->dirty, total));
	bitmap_zero(dcc->flush_before, dcc->bitmap_blocks);
	dcc->nr_valid = bitmap_weight(dcc->valid, total);
	dcc->told_whole = dcc->nr_valid == dcc->nr_regions;
	dcc->nr_dirty = bitmap_weight(dcc->dirty, total);
	dcc->sb_changed = false;
	return 0;
}

int dcc_meta_load(struct dcc *dcc, char **error)
{
	int ret;

	dcc->sb_buf = kzalloc(DCC_META_BLOCK_SIZE, GFP_KERNEL);
	if (!dcc->sb_buf) {
		*error = "Cannot allocate superblock buffer";
		return -ENOMEM;
	}
	ret = dcc_read_sb(dcc, error);
	if (ret)
		return ret;

	dcc->valid = dcc_bitmap_alloc(dcc);
	dcc->dirty = dcc_bitmap_alloc(dcc);
	dcc->hot_valid = dcc_bitmap_alloc(dcc);
	dcc->hot_dirty = dcc_bitmap_alloc(dcc);
	dcc->armed = dcc_bitmap_alloc(dcc);
	dcc->clearing = dcc_bitmap_alloc(dcc);
	dcc->unconfirmed = dcc_bitmap_alloc(dcc);
	dcc->changed = bitmap_zalloc(2 * dcc->bitmap_blocks, GFP_KERNEL);
	dcc->flush_before = bitmap_zalloc(dcc->bitmap_blocks, GFP_KERNEL);
	/* A small volume has fewer blocks than a batch: no room for more. */
	dcc->commit_batch = min_t(u64, DCC_COMMIT_BATCH, 2 * dcc->bitmap_blocks);
	dcc->commit_buf = kvmalloc_array(dcc->commit_batch, DCC_META_BLOCK_SIZE, GFP_KERNEL);
	dcc->commit_idx = kcalloc(dcc->commit_batch, sizeof(u64), GFP_KERNEL);
	dcc->sync_buf = kcalloc(DCC_MAX_WRITES_PER_EVENT, sizeof(*dcc->sync_buf), GFP_KERNEL);
	if (!dcc->valid || !dcc->dirty || !dcc->hot_valid || !dcc->hot_dirty ||
	    !dcc->armed || !dcc->clearing || !dcc->unconfirmed || !dcc->changed ||
	    !dcc->flush_before || !dcc->commit_buf || !dcc->commit_idx ||
	    !dcc->sync_buf) {
		*error = "Cannot allocate region bitmaps";
		return -ENOMEM;
	}
	return dcc_read_bitmaps(dcc, error);
}

void __dcc_mark_changed(struct dcc *dcc, unsigned long *bitmap, u64 r)
{
	u64 b = r / (DCC_META_BLOCK_SIZE * 8);

	if (bitmap == dcc->dirty)
		b += dcc->bitmap_blocks;
	__set_bit(b, dcc->changed);
}

void __dcc_set_valid(struct dcc *dcc, u64 r)
{
	if (!__test_and_set_bit(r, dcc->valid)) {
		dcc->nr_valid++;
		__dcc_mark_changed(dcc, dcc->valid, r);
	}
}

void __dcc_set_dirty(struct dcc *dcc, u64 r)
{
	if (!__test_and_set_bit(r, dcc->dirty)) {
		if (!dcc->nr_dirty++)
			dcc->first_dirty = true;
		__dcc_mark_changed(dcc, dcc->dirty, r);
	}
}

/*
 * Clear a dirty bit.  @replicated: the other site holds the region's data,
 * read from here, so the data device is flushed before the bit is written.
 * A CLEAR_DIRTY that had taken the region out of hot_dirty leaves it alone.
 */
void __dcc_clear_dirty(struct dcc *dcc, u64 r, bool replicated)
{
	clear_bit(r, dcc->hot_dirty);
	__clear_bit(r, dcc->clearing);
	if (test_and_clear_bit(r, dcc->unconfirmed))
		atomic64_dec(&dcc->nr_unconfirmed);
	if (__test_and_clear_bit(r, dcc->dirty)) {
		dcc->nr_dirty--;
		__dcc_mark_changed(dcc, dcc->dirty, r);
		if (replicated)
			__set_bit(r / (DCC_META_BLOCK_SIZE * 8), dcc->flush_before);
	}
}

/* The bits of word @w that lie in [@start, @end). */
static unsigned long dcc_word_mask(u64 w, u64 start, u64 end)
{
	unsigned long mask = ~0UL;

	if (w == start / BITS_PER_LONG)
		mask &= BITMAP_FIRST_WORD_MASK(start);
	if (w == (end - 1) / BITS_PER_LONG)
		mask &= BITMAP_LAST_WORD_MASK(end);
	return mask;
}

/*
 * Where the piece of [@r, @end) that starts at @r ends: at @end or at the
 * end of @r's metadata block, whichever comes first.
 */
static u64 dcc_block_piece_end(u64 r, u64 end)
{
	const u64 per_block = DCC_META_BLOCK_SIZE * 8;

	return min(end, round_down(r, per_block) + per_block);
}

/*
 * Clear the dirty bits of [@r, @r + @count), a word at a time (see
 * __dcc_clear_valid_range()), as __dcc_clear_dirty(@r, false) does bit by
 * bit.  hot_dirty and unconfirmed change without the lock too (a write
 * that completes, dcc_unconfirmed()): their words change atomically.
 */
void __dcc_clear_dirty_range(struct dcc *dcc, u64 r, u64 count)
{
	u64 end = r + count, next, w, n;
	unsigned long mask, old;

	lockdep_assert_held(&dcc->lock);
	for (; r < end; r = next) {
		next = dcc_block_piece_end(r, end);
		n = 0;
		for (w = r / BITS_PER_LONG; w <= (next - 1) / BITS_PER_LONG; w++) {
			mask = dcc_word_mask(w, r, next);
			atomic_long_andnot(mask, (atomic_long_t *)&dcc->hot_dirty[w]);
			dcc->clearing[w] &= ~mask;
			old = atomic_long_fetch_andnot(mask,
					(atomic_long_t *)&dcc->unconfirmed[w]);
			if (old & mask)
				atomic64_sub(hweight_long(old & mask),
					     &dcc->nr_unconfirmed);
			n += hweight_long(dcc->dirty[w] & mask);
			dcc->dirty[w] &= ~mask;
		}
		if (n) {
			dcc->nr_dirty -= n;
			__dcc_mark_changed(dcc, dcc->dirty, r);
		}
	}
}

/*
 * Clear bits [@start, @end) of @map and of its hot copy @hot (whose other
 * writers hold dcc->lock too; .map only reads it), a word at a time.
 * Returns how many were set in @map.
 */
static u64 dcc_clear_bits(unsigned long *map, unsigned long *hot, u64 start,
			  u64 end)
{
	u64 w, n = 0;
	unsigned long mask;

	for (w = start / BITS_PER_LONG; w <= (end - 1) / BITS_PER_LONG; w++) {
		mask = dcc_word_mask(w, start, end);
		n += hweight_long(map[w] & mask);
		map[w] &= ~mask;
		WRITE_ONCE(hot[w], hot[w] & ~mask);
	}
	return n;
}

/*
 * A range may hold tens of millions of regions, and this runs with IRQs
 * off: word by word, one metadata block at a time.
 */
void __dcc_clear_valid_range(struct dcc *dcc, u64 r, u64 count)
{
	u64 end = r + count, next, n;

	lockdep_assert_held(&dcc->lock);
	for (; r < end; r = next) {
		next = dcc_block_piece_end(r, end);
		n = dcc_clear_bits(dcc->valid, dcc->hot_valid, r, next);
		if (n) {
			dcc->nr_valid -= n;
			__dcc_mark_changed(dcc, dcc->valid, r);
		}
	}
}

/*
 * After block b of the bitmaps reached the disk as @snap, publish it: a bit
 * is hot if it is set both on disk and now.  A region a CLEAR_DIRTY is
 * draining stays out of hot_dirty until that CLEAR_DIRTY decides.
 */
static void __dcc_publish(struct dcc *dcc, u64 b, const unsigned long *snap)
{
	const unsigned long *cur, *mask = NULL;
	unsigned long *hot;
	u64 off;
	unsigned int i;

	if (b < dcc->bitmap_blocks) {
		cur = dcc->valid;
		hot = dcc->hot_valid;
		off = b;
	} else {
		cur = dcc->dirty;
		hot = dcc->hot_dirty;
		mask = dcc->clearing;
		off = b - dcc->bitmap_blocks;
	}
	cur += off * BLOCK_LONGS;
	hot += off * BLOCK_LONGS;
	if (mask)
		mask += off * BLOCK_LONGS;
	for (i = 0; i < BLOCK_LONGS; i++)
		WRITE_ONCE(hot[i], snap[i] & cur[i] & (mask ? ~mask[i] : ~0UL));
}

/* Can the superblock still be read?  0 if so. */
int dcc_meta_check_readable(struct dcc *dcc)
{
	return dcc_block_io(dcc->meta_dev->bdev, REQ_OP_READ, 0, dcc->sb_buf, 1);
}

/*
 * Write every changed metadata block, and then the superblock if it
 * changed.  Called with commit_mutex held.  Returns 0 once everything
 * changed before the call is on disk; on an error what was not written
 * stays marked changed.
 */
int dcc_meta_commit(struct dcc *dcc)
{
	u64 total = 2 * dcc->bitmap_blocks;

	lockdep_assert_held(&dcc->commit_mutex);
	BUILD_BUG_ON(DCC_COMMIT_BATCH > BITS_PER_LONG);
	for (;;) {
		unsigned int n = 0, i;
		unsigned long flushed = 0;	/* batch blocks that took flush_before */
		bool write_sb = false, flush = false, drained = false;
		u64 b = 0;
		int r = 0;

		spin_lock_irq(&dcc->lock);
		while (n < dcc->commit_batch) {
			void *src;

			b = find_next_bit(dcc->changed, total, b);
			if (b >= total) {
				drained = true;
				break;
			}
			if (b < dcc->bitmap_blocks) {
				src = (void *)dcc->valid + b * DCC_META_BLOCK_SIZE;
				flush = true;
			} else {
				src = (void *)dcc->dirty +
				      (b - dcc->bitmap_blocks) * DCC_META_BLOCK_SIZE;
				if (__test_and_clear_bit(b - dcc->bitmap_blocks,
							 dcc->flush_before)) {
					__set_bit(n, &flushed);
					flush = true;
				}
			}
			memcpy(dcc->commit_buf + n * DCC_META_BLOCK_SIZE, src,
			       DCC_META_BLOCK_SIZE);
			__clear_bit(b, dcc->changed);
			dcc->commit_idx[n++] = b++;
		}
		/*
		 * The superblock (role, generation) goes with the last round:
		 * what it says must not reach the disk before the bitmap
		 * blocks changed with it.
		 */
		if (dcc->sb_changed && drained) {
			__dcc_encode_sb(dcc, dcc->sb_buf);
			dcc->sb_changed = false;
			write_sb = true;
		}
		spin_unlock_irq(&dcc->lock);

		if (!n && !write_sb)
			return 0;

		/*
		 * Data first: a valid bit must never reach the disk before its
		 * data, nor a replicated region's cleared dirty bit.
		 */
		if (flush)
			r = blkdev_issue_flush(dcc->data_dev->bdev);
		if (!r)
			r = dcc_write_commit_blocks(dcc, n);
		if (!r && write_sb)
			r = dcc_block_io(dcc->meta_dev->bdev,
					 REQ_OP_WRITE | REQ_SYNC | REQ_FUA, 0,
					 dcc->sb_buf, 1);

		spin_lock_irq(&dcc->lock);
		if (r) {
			for (i = 0; i < n; i++) {
				__set_bit(dcc->commit_idx[i], dcc->changed);
				if (test_bit(i, &flushed))
					__set_bit(dcc->commit_idx[i] - dcc->bitmap_blocks,
						  dcc->flush_before);
			}
			if (write_sb)
				dcc->sb_changed = true;
			spin_unlock_irq(&dcc->lock);
			return r;
		}
		for (i = 0; i < n; i++)
			__dcc_publish(dcc, dcc->commit_idx[i],
				      dcc->commit_buf + i * DCC_META_BLOCK_SIZE);
		spin_unlock_irq(&dcc->lock);
	}
}
