// The resource kinds, one file each (schema.h). Internal to core/schema.cc.
#pragma once

#include "core/schema.h"

namespace tollgate::core::schema {

// Shared objects, named in the OpenAPI document.
Field limits_field(std::string name);
Field budget_field(std::string name);
Field pricing_field(std::string name);

Kind provider_kind();
Kind model_kind();
Kind team_kind();
Kind key_kind();
Kind guardrail_kind();
Kind admin_key_kind();

}  // namespace tollgate::core::schema
