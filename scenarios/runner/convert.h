/* SPDX-License-Identifier: Apache-2.0 */
/* YAML to JSON for the model structs: a map is checked against a core schema descriptor (an
 * unknown key is a positioned error) and converted with the types the schema's fields ask for,
 * so vc_obj_from_json can fill the struct; plus generic conversion for expected results and a
 * deep merge for the sandbox defaults. */
#pragma once

#include <json-c/json.h>

#include "schema.h"
#include "yamltree.h"

/* Converts map (a YAML map) to a JSON object for schema s. Keys in skip (space separated words,
 * may be NULL) are left out for the caller. Strings stay strings whatever they look like;
 * integer fields take integers (64-bit ones also sizes such as 512MiB); BYTES fields take text;
 * annotation lists may be written as a map. 0 and *ret, or -EINVAL with d filled. */
int vcsim_json_from_map(struct vcsim_diag *d, const struct vc_schema *s,
                        const struct vcsim_node *map, const char *skip, json_object **ret);
/* Converts one field value (used for list-valued steps such as routes and mounts). */
int vcsim_json_from_field(struct vcsim_diag *d, const struct vc_field *f,
                          const struct vcsim_node *n, json_object **ret);
/* The field of s named name, or NULL. */
const struct vc_field *vcsim_schema_field(const struct vc_schema *s, const char *name);
/* Generic conversion: plain integers, true/false and null keep their type, the rest is text. */
int vcsim_json_from_any(struct vcsim_diag *d, const struct vcsim_node *n, json_object **ret);
/* A new object: base with over merged on top (maps merged key by key, over wins elsewhere).
 * Either may be NULL. -ENOMEM. */
int vcsim_json_merge(json_object *base, json_object *over, json_object **ret);
