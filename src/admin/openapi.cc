// The OpenAPI 3.1 document of the Admin API, served at GET /admin/v1/openapi.json. Written by
// hand (as data): keep it in step with admin_api.cc when a route or a field changes.
#include "admin/admin_api.h"

namespace tollgate::admin {

const std::string& openapi_document() {
  static const std::string kDocument = R"openapi({
 "openapi": "3.1.0",
 "info": {
  "title": "Tollgate Admin API",
  "version": "1",
  "description": "Manage providers, models and virtual keys, and read usage. Every route needs `Authorization: Bearer <admin key>` (admin.key in tollgate.yaml). Writes are live at once (a new snapshot). With a resources file (read-only store) every write answers 409 read_only_store. Timestamps: unix seconds on keys, unix milliseconds in usage and the request log. Guardrail policies are resources too (`/admin/v1/guardrails`)."
 },
 "servers": [
  {
   "url": "/"
  }
 ],
 "security": [
  {
   "adminKey": []
  }
 ],
 "paths": {
  "/admin/v1/providers": {
   "get": {
    "summary": "List providers (the live snapshot)",
    "operationId": "list_providers",
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "data": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/Provider"
           }
          }
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     }
    }
   },
   "post": {
    "summary": "Create a provider",
    "operationId": "create_provider",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/ProviderWrite"
       }
      }
     }
    },
    "responses": {
     "201": {
      "description": "created; live at once",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Provider"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "400": {
      "$ref": "#/components/responses/Invalid"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   }
  },
  "/admin/v1/providers/{name}": {
   "parameters": [
    {
     "name": "name",
     "in": "path",
     "required": true,
     "schema": {
      "type": "string"
     }
    }
   ],
   "get": {
    "summary": "Get a provider",
    "operationId": "get_provider",
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Provider"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    }
   },
   "put": {
    "summary": "Create or replace a provider",
    "operationId": "put_provider",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/ProviderWrite"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "saved; live at once",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Provider"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "400": {
      "$ref": "#/components/responses/Invalid"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   },
   "delete": {
    "summary": "Delete a provider (409 while others refer to it)",
    "operationId": "delete_provider",
    "responses": {
     "200": {
      "description": "deleted",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Deleted"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   }
  },
  "/admin/v1/models": {
   "get": {
    "summary": "List models (the live snapshot)",
    "operationId": "list_models",
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "data": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/Model"
           }
          }
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     }
    }
   },
   "post": {
    "summary": "Create a model",
    "operationId": "create_model",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/Model"
       }
      }
     }
    },
    "responses": {
     "201": {
      "description": "created; live at once",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Model"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "400": {
      "$ref": "#/components/responses/Invalid"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   }
  },
  "/admin/v1/models/{name}": {
   "parameters": [
    {
     "name": "name",
     "in": "path",
     "required": true,
     "schema": {
      "type": "string"
     }
    }
   ],
   "get": {
    "summary": "Get a model",
    "operationId": "get_model",
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Model"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    }
   },
   "put": {
    "summary": "Create or replace a model",
    "operationId": "put_model",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/Model"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "saved; live at once",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Model"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "400": {
      "$ref": "#/components/responses/Invalid"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   },
   "delete": {
    "summary": "Delete a model (409 while others refer to it)",
    "operationId": "delete_model",
    "responses": {
     "200": {
      "description": "deleted",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Deleted"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   }
  },
  "/admin/v1/guardrails": {
   "get": {
    "summary": "List guardrail policies (the live snapshot)",
    "operationId": "list_guardrails",
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "data": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/Guardrail"
           }
          }
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     }
    }
   },
   "post": {
    "summary": "Create a guardrail policy",
    "operationId": "create_guardrail",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/Guardrail"
       }
      }
     }
    },
    "responses": {
     "201": {
      "description": "created; live at once",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Guardrail"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "400": {
      "$ref": "#/components/responses/Invalid"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   }
  },
  "/admin/v1/guardrails/{name}": {
   "parameters": [
    {
     "name": "name",
     "in": "path",
     "required": true,
     "schema": {
      "type": "string"
     }
    }
   ],
   "get": {
    "summary": "Get a guardrail policy",
    "operationId": "get_guardrail",
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Guardrail"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    }
   },
   "put": {
    "summary": "Create or replace a guardrail policy",
    "operationId": "put_guardrail",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/Guardrail"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "saved; live at once",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Guardrail"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "400": {
      "$ref": "#/components/responses/Invalid"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   },
   "delete": {
    "summary": "Delete a guardrail policy (409 while others refer to it)",
    "operationId": "delete_guardrail",
    "responses": {
     "200": {
      "description": "deleted",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Deleted"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   }
  },
  "/admin/v1/keys": {
   "get": {
    "summary": "List virtual keys with spend and last use",
    "operationId": "list_keys",
    "parameters": [
     {
      "name": "include_revoked",
      "in": "query",
      "schema": {
       "type": "boolean"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "data": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/Key"
           }
          }
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     }
    }
   },
   "post": {
    "summary": "Create a key; the secret is returned once",
    "operationId": "create_key",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/KeyWrite"
       }
      }
     }
    },
    "responses": {
     "201": {
      "description": "created",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/KeyWithSecret"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "400": {
      "$ref": "#/components/responses/Invalid"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   }
  },
  "/admin/v1/keys/{id}": {
   "parameters": [
    {
     "name": "id",
     "in": "path",
     "required": true,
     "description": "key id (key_...) or name",
     "schema": {
      "type": "string"
     }
    }
   ],
   "get": {
    "summary": "Get a key (revoked ones too)",
    "operationId": "get_key",
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Key"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    }
   },
   "patch": {
    "summary": "Change models, expires_at, limits, budget, model_limits (null removes a field)",
    "operationId": "update_key",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/KeyWrite"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "saved; live at once",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Key"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "400": {
      "$ref": "#/components/responses/Invalid"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   }
  },
  "/admin/v1/keys/{id}/revoke": {
   "parameters": [
    {
     "name": "id",
     "in": "path",
     "required": true,
     "description": "key id (key_...) or name",
     "schema": {
      "type": "string"
     }
    }
   ],
   "post": {
    "summary": "Revoke a key (idempotent); it answers 401 at once",
    "operationId": "revoke_key",
    "responses": {
     "200": {
      "description": "revoked",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Key"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   }
  },
  "/admin/v1/keys/{id}/rotate": {
   "parameters": [
    {
     "name": "id",
     "in": "path",
     "required": true,
     "description": "key id (key_...) or name",
     "schema": {
      "type": "string"
     }
    }
   ],
   "post": {
    "summary": "New secret for the key; id, name, settings, spend stay; the old secret stops working at once",
    "operationId": "rotate_key",
    "responses": {
     "200": {
      "description": "rotated",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/KeyWithSecret"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     }
    }
   }
  },
  "/admin/v1/usage": {
   "get": {
    "summary": "Usage aggregates over time buckets",
    "operationId": "usage",
    "parameters": [
     {
      "name": "from",
      "in": "query",
      "schema": {
       "type": "string"
      },
      "description": "unix milliseconds, RFC 3339 (2026-03-01T12:00:00Z) or relative to now (-15m, -24h, -7d); default -24h"
     },
     {
      "name": "to",
      "in": "query",
      "schema": {
       "type": "string"
      },
      "description": "unix milliseconds, RFC 3339 (2026-03-01T12:00:00Z) or relative to now (-15m, -24h, -7d); default now"
     },
     {
      "name": "bucket",
      "in": "query",
      "schema": {
       "type": "string"
      },
      "description": "seconds or 1m, 5m, 1h, 1d; 0 or absent: one bucket"
     },
     {
      "name": "group_by",
      "in": "query",
      "schema": {
       "type": "string",
       "enum": [
        "none",
        "key",
        "model",
        "provider"
       ]
      }
     },
     {
      "name": "key",
      "in": "query",
      "schema": {
       "type": "string"
      },
      "description": "key id or name"
     },
     {
      "name": "model",
      "in": "query",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "provider",
      "in": "query",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "from": {
           "type": "integer"
          },
          "to": {
           "type": "integer"
          },
          "bucket_seconds": {
           "type": "integer"
          },
          "group_by": {
           "type": "string"
          },
          "data": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/UsageBucket"
           }
          },
          "totals": {
           "oneOf": [
            {
             "$ref": "#/components/schemas/UsageBucket"
            },
            {
             "type": "null"
            }
           ]
          }
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "400": {
      "$ref": "#/components/responses/Invalid"
     },
     "503": {
      "$ref": "#/components/responses/Unavailable"
     }
    }
   }
  },
  "/admin/v1/requests": {
   "get": {
    "summary": "The request log, newest first",
    "operationId": "requests",
    "parameters": [
     {
      "name": "from",
      "in": "query",
      "schema": {
       "type": "string"
      },
      "description": "unix milliseconds, RFC 3339 (2026-03-01T12:00:00Z) or relative to now (-15m, -24h, -7d)"
     },
     {
      "name": "to",
      "in": "query",
      "schema": {
       "type": "string"
      },
      "description": "unix milliseconds, RFC 3339 (2026-03-01T12:00:00Z) or relative to now (-15m, -24h, -7d)"
     },
     {
      "name": "key",
      "in": "query",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "model",
      "in": "query",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "provider",
      "in": "query",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "status",
      "in": "query",
      "schema": {
       "type": "string"
      },
      "description": "an HTTP status, or 'error' for every status >= 400"
     },
     {
      "name": "limit",
      "in": "query",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "maximum": 1000,
       "default": 100
      }
     },
     {
      "name": "offset",
      "in": "query",
      "schema": {
       "type": "integer",
       "minimum": 0
      }
     }
    ],
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "data": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/RequestRecord"
           }
          },
          "limit": {
           "type": "integer"
          },
          "offset": {
           "type": "integer"
          },
          "has_more": {
           "type": "boolean"
          }
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "400": {
      "$ref": "#/components/responses/Invalid"
     },
     "503": {
      "$ref": "#/components/responses/Unavailable"
     }
    }
   }
  },
  "/admin/v1/requests/{request_id}": {
   "parameters": [
    {
     "name": "request_id",
     "in": "path",
     "required": true,
     "schema": {
      "type": "string"
     }
    }
   ],
   "get": {
    "summary": "One request of the log",
    "operationId": "request",
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/RequestRecord"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "503": {
      "$ref": "#/components/responses/Unavailable"
     }
    }
   }
  },
  "/admin/v1/config": {
   "get": {
    "summary": "The live snapshot: providers (no secrets), models, key count, version, store",
    "operationId": "config",
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "version": {
           "type": "integer"
          },
          "gateway_version": {
           "type": "string"
          },
          "started_at": {
           "type": "integer"
          },
          "store": {
           "type": "object",
           "properties": {
            "kind": {
             "type": "string"
            },
            "path": {
             "type": "string"
            },
            "writable": {
             "type": "boolean"
            }
           }
          },
          "usage_enabled": {
           "type": "boolean"
          },
          "listen": {
           "type": "object"
          },
          "providers": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/Provider"
           }
          },
          "models": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/Model"
           }
          },
          "key_count": {
           "type": "integer"
          }
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     }
    }
   }
  },
  "/admin/v1/openapi.json": {
   "get": {
    "summary": "This document",
    "operationId": "openapi",
    "responses": {
     "200": {
      "description": "OpenAPI 3.1 document"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Disabled"
     }
    }
   }
  }
 },
 "components": {
  "securitySchemes": {
   "adminKey": {
    "type": "http",
    "scheme": "bearer"
   }
  },
  "schemas": {
   "Error": {
    "type": "object",
    "properties": {
     "error": {
      "type": "object",
      "properties": {
       "message": {
        "type": "string"
       },
       "type": {
        "type": "string"
       },
       "param": {
        "type": [
         "string",
         "null"
        ]
       },
       "code": {
        "type": "string"
       },
       "errors": {
        "type": "array",
        "items": {
         "type": "object",
         "properties": {
          "field": {
           "type": "string",
           "description": "relative to the resource, e.g. targets[0].provider; empty for the whole body"
          },
          "message": {
           "type": "string"
          }
         }
        }
       }
      }
     }
    }
   },
   "Limits": {
    "type": "object",
    "properties": {
     "rpm": {
      "type": "integer",
      "minimum": 1
     },
     "rpd": {
      "type": "integer",
      "minimum": 1
     },
     "tpm": {
      "type": "integer",
      "minimum": 1
     },
     "tpd": {
      "type": "integer",
      "minimum": 1
     },
     "concurrency": {
      "type": "integer",
      "minimum": 1
     }
    },
    "additionalProperties": false
   },
   "Budget": {
    "type": "object",
    "properties": {
     "usd_per_day": {
      "type": "number"
     },
     "usd_per_month": {
      "type": "number"
     },
     "usd_total": {
      "type": "number"
     },
     "mode": {
      "type": "string",
      "enum": [
       "hard",
       "warn"
      ]
     }
    },
    "additionalProperties": false
   },
   "Pricing": {
    "type": "object",
    "description": "USD per 1M tokens",
    "properties": {
     "input": {
      "type": "number"
     },
     "output": {
      "type": "number"
     },
     "cached_input": {
      "type": "number"
     },
     "cache_creation": {
      "type": "number"
     },
     "reasoning": {
      "type": "number"
     }
    }
   },
   "ProviderWrite": {
    "type": "object",
    "required": [
     "kind"
    ],
    "properties": {
     "name": {
      "type": "string",
      "description": "required on POST; must match the path on PUT"
     },
     "kind": {
      "type": "string",
      "enum": [
       "openai",
       "openai-compatible",
       "azure",
       "anthropic",
       "gemini",
       "demo"
      ]
     },
     "base_url": {
      "type": "string"
     },
     "api_key": {
      "type": [
       "string",
       "null"
      ],
      "writeOnly": true,
      "description": "literal secret or a ${ENV} reference (kept as a reference). Write-only: never returned. Left out on PUT: the stored one is kept; null: cleared."
     },
     "api_version": {
      "type": "string"
     },
     "headers": {
      "type": "object",
      "additionalProperties": {
       "type": [
        "string",
        "null"
       ]
      },
      "description": "credential-like headers (authorization, *key*, *token*, *secret*, *auth*) are write-only like api_key"
     },
     "timeouts": {
      "type": "object",
      "properties": {
       "connect_ms": {
        "type": "integer"
       },
       "read_ms": {
        "type": "integer"
       },
       "idle_ms": {
        "type": "integer"
       }
      }
     },
     "verify_tls": {
      "type": "boolean"
     }
    }
   },
   "Provider": {
    "type": "object",
    "properties": {
     "name": {
      "type": "string"
     },
     "kind": {
      "type": "string"
     },
     "base_url": {
      "type": "string"
     },
     "api_version": {
      "type": [
       "string",
       "null"
      ]
     },
     "api_key_set": {
      "type": "boolean"
     },
     "headers": {
      "type": "object",
      "additionalProperties": {
       "type": "string"
      }
     },
     "secret_headers": {
      "type": "array",
      "items": {
       "type": "string"
      },
      "description": "names of write-only headers that are set"
     },
     "timeouts": {
      "type": "object"
     },
     "verify_tls": {
      "type": "boolean"
     },
     "builtin": {
      "type": "boolean",
      "description": "added by the gateway (demo, OPENAI_API_KEY), not stored"
     }
    }
   },
   "Target": {
    "type": "object",
    "required": [
     "provider",
     "model"
    ],
    "properties": {
     "provider": {
      "type": "string"
     },
     "model": {
      "type": "string",
      "description": "upstream model name"
     },
     "weight": {
      "type": "integer"
     },
     "priority": {
      "type": "integer"
     },
     "pricing": {
      "$ref": "#/components/schemas/Pricing"
     }
    }
   },
   "Model": {
    "type": "object",
    "required": [
     "targets"
    ],
    "properties": {
     "name": {
      "type": "string"
     },
     "strategy": {
      "type": "string",
      "enum": [
       "weighted",
       "least-latency",
       "least-busy",
       "lowest-cost",
       "fallback",
       "priority"
      ]
     },
     "targets": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Target"
      }
     },
     "fallbacks": {
      "type": "array",
      "items": {
       "type": "string"
      }
     },
     "retry": {
      "type": "object",
      "properties": {
       "max_attempts": {
        "type": "integer"
       },
       "backoff_ms": {
        "type": "integer"
       },
       "max_backoff_ms": {
        "type": "integer"
       },
       "on": {
        "type": "array",
        "items": {
         "type": "string",
         "enum": [
          "connect",
          "timeout",
          "429",
          "5xx"
         ]
        }
       }
      }
     },
     "circuit": {
      "type": "object",
      "properties": {
       "failures": {
        "type": "integer"
       },
       "cooldown_ms": {
        "type": "integer"
       }
      }
     },
     "when_all_unavailable": {
      "type": "string",
      "enum": [
       "send",
       "fail"
      ]
     },
     "health_check": {
      "type": "object",
      "properties": {
       "interval_ms": {
        "type": "integer"
       },
       "timeout_ms": {
        "type": "integer"
       },
       "probe": {
        "type": "string",
        "enum": [
         "models",
         "request"
        ]
       },
       "failures": {
        "type": "integer"
       },
       "successes": {
        "type": "integer"
       }
      }
     },
     "strict_params": {
      "type": "boolean",
      "description": "A parameter a target cannot honour is a 400 naming it, instead of being dropped and named in x-tollgate-dropped."
     },
     "max_output_tokens": {
      "type": "integer",
      "minimum": 1,
      "description": "The targets' output limit where the catalog does not know it: a larger max_tokens is clamped."
     },
     "context_window": {
      "type": "integer",
      "minimum": 1
     },
     "timeout_ms": {
      "type": "integer"
     },
     "affinity": {
      "type": "object",
      "properties": {
       "by": {
        "type": "string",
        "enum": [
         "header",
         "key",
         "user"
        ]
       },
       "header": {
        "type": "string"
       }
      }
     },
     "pricing": {
      "$ref": "#/components/schemas/Pricing"
     },
     "limits": {
      "$ref": "#/components/schemas/Limits"
     },
     "builtin": {
      "type": "boolean",
      "readOnly": true
     }
    }
   },
   "Guardrail": {
    "type": "object",
    "required": [
     "name",
     "kind"
    ],
    "properties": {
     "name": {
      "type": "string"
     },
     "kind": {
      "type": "string",
      "enum": [
       "pii",
       "prompt-injection",
       "keywords",
       "moderation"
      ]
     },
     "mode": {
      "type": "string",
      "enum": [
       "block",
       "redact",
       "monitor"
      ],
      "description": "moderation: block or monitor"
     },
     "entities": {
      "type": "array",
      "items": {
       "type": "string"
      },
      "description": "pii: email, phone, credit_card, ssn, iban, ip, secret (all when absent)"
     },
     "reversible": {
      "type": "boolean",
      "description": "pii + redact: numbered placeholders restored in the answer"
     },
     "keywords": {
      "type": "array",
      "items": {
       "type": "string"
      },
      "description": "keywords: literals, case-insensitive, whole words"
     },
     "patterns": {
      "type": "array",
      "items": {
       "type": "string"
      },
      "description": "keywords: RE2 patterns"
     },
     "threshold": {
      "type": "number",
      "description": "prompt-injection: score that acts (default 0.5); moderation: a category counts from this score (the endpoint's flags decide when absent)"
     },
     "provider": {
      "type": "string",
      "description": "moderation: an openai or openai-compatible provider serving /moderations"
     },
     "model": {
      "type": "string",
      "description": "moderation: the moderation model (the endpoint's default when absent)"
     },
     "categories": {
      "type": "array",
      "items": {
       "type": "string"
      },
      "description": "moderation: only these categories count (all when absent)"
     },
     "timeout_ms": {
      "type": "integer",
      "description": "moderation: bound on the endpoint call (default 3000)"
     },
     "fail_open": {
      "type": "boolean",
      "description": "moderation: admit when the endpoint fails (default false: 503)"
     }
    },
    "additionalProperties": false
   },
   "KeyWrite": {
    "type": "object",
    "properties": {
     "name": {
      "type": "string",
      "description": "required on create; cannot change"
     },
     "models": {
      "type": "array",
      "items": {
       "type": "string"
      },
      "description": "allowed aliases, PROVIDER/* or *; empty: every model"
     },
     "expires_at": {
      "type": [
       "integer",
       "null"
      ],
      "description": "unix seconds"
     },
     "limits": {
      "$ref": "#/components/schemas/Limits"
     },
     "budget": {
      "$ref": "#/components/schemas/Budget"
     },
     "model_limits": {
      "type": "object",
      "additionalProperties": {
       "$ref": "#/components/schemas/Limits"
      }
     },
     "guardrails": {
      "type": "array",
      "items": {
       "type": "string"
      },
      "description": "guardrail policies applied to this key's requests, by name"
     }
    }
   },
   "Key": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string",
      "description": "stable; kept by rotate"
     },
     "name": {
      "type": "string"
     },
     "prefix": {
      "type": "string",
      "description": "first 8 characters of the secret"
     },
     "models": {
      "type": "array",
      "items": {
       "type": "string"
      }
     },
     "expires_at": {
      "type": [
       "integer",
       "null"
      ]
     },
     "limits": {
      "$ref": "#/components/schemas/Limits"
     },
     "budget": {
      "$ref": "#/components/schemas/Budget"
     },
     "model_limits": {
      "type": "object",
      "additionalProperties": {
       "$ref": "#/components/schemas/Limits"
      }
     },
     "created_at": {
      "type": [
       "integer",
       "null"
      ],
      "description": "unix seconds"
     },
     "revoked": {
      "type": "boolean"
     },
     "revoked_at": {
      "type": [
       "integer",
       "null"
      ]
     },
     "spend": {
      "type": [
       "object",
       "null"
      ],
      "description": "USD from usage records (UTC day / month / all time); null when usage records are off",
      "properties": {
       "usd_today": {
        "type": "number"
       },
       "usd_month": {
        "type": "number"
       },
       "usd_total": {
        "type": "number"
       }
      }
     },
     "last_used_at": {
      "type": [
       "integer",
       "null"
      ],
      "description": "unix seconds of the latest usage record"
     },
     "guardrails": {
      "type": "array",
      "items": {
       "type": "string"
      },
      "description": "guardrail policies applied to this key's requests, by name"
     }
    }
   },
   "KeyWithSecret": {
    "allOf": [
     {
      "$ref": "#/components/schemas/Key"
     },
     {
      "type": "object",
      "properties": {
       "secret": {
        "type": "string",
        "description": "shown once; only its SHA-256 is stored"
       }
      }
     }
    ]
   },
   "UsageBucket": {
    "type": "object",
    "properties": {
     "start_ms": {
      "type": "integer"
     },
     "group": {
      "type": "string"
     },
     "label": {
      "type": "string"
     },
     "requests": {
      "type": "integer"
     },
     "errors": {
      "type": "integer"
     },
     "input_tokens": {
      "type": "integer"
     },
     "output_tokens": {
      "type": "integer"
     },
     "cached_tokens": {
      "type": "integer"
     },
     "cache_creation_tokens": {
      "type": "integer"
     },
     "reasoning_tokens": {
      "type": "integer"
     },
     "cost_usd": {
      "type": "number"
     },
     "unpriced": {
      "type": "integer"
     },
     "avg_latency_ms": {
      "type": "number"
     },
     "max_latency_ms": {
      "type": "number"
     },
     "avg_ttft_ms": {
      "type": [
       "number",
       "null"
      ]
     }
    }
   },
   "RequestRecord": {
    "type": "object",
    "properties": {
     "request_id": {
      "type": "string"
     },
     "ts": {
      "type": "integer",
      "description": "unix ms"
     },
     "key_id": {
      "type": [
       "string",
       "null"
      ]
     },
     "key_name": {
      "type": [
       "string",
       "null"
      ]
     },
     "model": {
      "type": [
       "string",
       "null"
      ]
     },
     "provider": {
      "type": [
       "string",
       "null"
      ]
     },
     "upstream_model": {
      "type": [
       "string",
       "null"
      ]
     },
     "route": {
      "type": [
       "string",
       "null"
      ]
     },
     "status": {
      "type": "integer"
     },
     "stream": {
      "type": "boolean"
     },
     "input_tokens": {
      "type": [
       "integer",
       "null"
      ]
     },
     "output_tokens": {
      "type": [
       "integer",
       "null"
      ]
     },
     "cached_tokens": {
      "type": [
       "integer",
       "null"
      ]
     },
     "cache_creation_tokens": {
      "type": [
       "integer",
       "null"
      ]
     },
     "reasoning_tokens": {
      "type": [
       "integer",
       "null"
      ]
     },
     "cost_usd": {
      "type": [
       "number",
       "null"
      ]
     },
     "latency_ms": {
      "type": "number"
     },
     "ttft_ms": {
      "type": [
       "number",
       "null"
      ]
     },
     "attempts": {
      "type": "integer"
     },
     "error": {
      "type": [
       "string",
       "null"
      ]
     },
     "guardrails": {
      "type": "array",
      "description": "guardrail hits, never the matched values",
      "items": {
       "type": "object",
       "properties": {
        "policy": {
         "type": "string"
        },
        "entity": {
         "type": "string",
         "description": "the PII entity, injection rule, keywords[i]/patterns[i] or moderation category"
        },
        "stage": {
         "type": "string",
         "enum": [
          "request",
          "answer"
         ]
        },
        "acted": {
         "type": "boolean"
        },
        "count": {
         "type": "integer"
        }
       }
      }
     }
    }
   },
   "Deleted": {
    "type": "object",
    "properties": {
     "name": {
      "type": "string"
     },
     "deleted": {
      "type": "boolean"
     }
    }
   }
  },
  "responses": {
   "Invalid": {
    "description": "invalid input; error.code invalid_resource, error.errors lists each field",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "Unauthorized": {
    "description": "missing or wrong admin key",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "Disabled": {
    "description": "no admin key configured: the Admin API is off",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "NotFound": {
    "description": "no such resource",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "Conflict": {
    "description": "name taken, still referred to, built in, revoked, or the store is read-only (code read_only_store)",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "Unavailable": {
    "description": "usage records are off (usage_disabled) or the store cannot be opened",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   }
  }
 }
})openapi";
  return kDocument;
}

}  // namespace tollgate::admin
