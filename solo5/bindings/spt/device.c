/* The device table of the boot info, in manifest order: handle = index. */
#include "spt.h"

static bool acquired[RUNNC_MAX_DEVICES];

static int name_eq(const char *a, const char *b)
{
    size_t i = 0;
    for (; i < RUNNC_NAME_MAX && a[i] && a[i] == b[i]; i++)
        ;
    return i < RUNNC_NAME_MAX && a[i] == b[i];
}

solo5_result_t spt_acquire(const char *name, uint32_t type,
        solo5_handle_t *handle, const struct runnc_device **dev)
{
    const struct runnc_boot_info *bi = runnc_boot_info;
    for (uint32_t i = 0; i < bi->ndevices; i++) {
        const struct runnc_device *d = &bi->devices[i];
        if (d->type != type || !name_eq(name, d->name))
            continue;
        if (acquired[i])
            return SOLO5_R_EINVAL;
        acquired[i] = true;
        *handle = i;
        *dev = d;
        return SOLO5_R_OK;
    }
    return SOLO5_R_EINVAL;
}

const struct runnc_device *spt_device(solo5_handle_t handle, uint32_t type)
{
    const struct runnc_boot_info *bi = runnc_boot_info;
    if (handle >= bi->ndevices || !acquired[handle])
        return NULL;
    const struct runnc_device *d = &bi->devices[handle];
    return d->type == type ? d : NULL;
}
