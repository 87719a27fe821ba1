/* svc_openapi.c — the OpenAPI 3 document (/openapi.json) (the /docs page is svc_docs.c).
 *
 * The document is written below with ' for " so it stays readable as C; svc_openapi_build
 * swaps the quotes, parses it (a typo fails the unit test, not a client) and fills in the
 * version. Descriptions therefore never contain an apostrophe. */
#include "svc_openapi.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char document[] =
    "{'openapi':'3.0.3',"
    " 'info':{'title':'vkbridge','version':'VERSION',"
    "  'description':'Text embeddings and BERTScore on any GPU through Vulkan compute. A drop-in for the Python GPU-bridge service, plus the OpenAI embeddings API and Prometheus metrics. With API_KEY set every path but /health needs X-API-Key (or Authorization: Bearer on /v1/...).'},"
    " 'components':{"
    "  'securitySchemes':{'ApiKey':{'type':'apiKey','in':'header','name':'X-API-Key'},"
    "                    'Bearer':{'type':'http','scheme':'bearer'}},"
    "  'schemas':{"
    "   'EmbedRequest':{'type':'object','required':['texts'],'properties':{"
    "     'texts':{'type':'array','items':{'type':'string'},'minItems':0,'description':'at most GPU_MAX_BATCH_SIZE texts of at most GPU_MAX_TEXT_LENGTH characters; an empty list answers 200 with no embeddings and dimensions 0 (as the v0.2 service does)'},"
    "     'model':{'type':'string','nullable':true,'description':'model folder or Hugging Face id; default MODEL_EMBED'},"
    "     'prompt_name':{'type':'string','nullable':true,'description':'a prompt of the model (config_sentence_transformers.json prompts; query and document always exist) put in front of every text; default: its default_prompt_name. Unknown: 400 naming the known ones'},"
    "     'prompt':{'type':'string','nullable':true,'description':'a literal prompt text instead (an empty one means no prompt); wins over prompt_name'}}},"
    "   'EmbedResponse':{'type':'object','properties':{"
    "     'embeddings':{'type':'array','items':{'type':'array','items':{'type':'number'}}},"
    "     'model':{'type':'string'},'dimensions':{'type':'integer'}}},"
    "   'BertScoreRequest':{'type':'object','required':['candidates','references'],'properties':{"
    "     'candidates':{'type':'array','items':{'type':'string'},'minItems':1},"
    "     'references':{'type':'array','items':{'type':'string'},'minItems':1},"
    "     'lang':{'type':'string','default':'en'},"
    "     'model_type':{'type':'string','nullable':true,'description':'default MODEL_BERTSCORE'},"
    "     'num_layers':{'type':'integer','minimum':1,'nullable':true,'description':'layer whose hidden states are scored. Default: for the service model MODEL_BERTSCORE the value of --bertscore-layers / VKB_BERTSCORE_LAYERS when set, otherwise the bert_score layer table entry of the model; a model in neither needs it (400)'},"
    "     'idf':{'type':'boolean','default':false},"
    "     'rescale_with_baseline':{'type':'boolean','default':false},"
    "     'batch_size':{'type':'integer','minimum':1,'nullable':true}}},"
    "   'BertScoreResponse':{'type':'object','properties':{"
    "     'precision':{'type':'array','items':{'type':'number'}},"
    "     'recall':{'type':'array','items':{'type':'number'}},"
    "     'f1':{'type':'array','items':{'type':'number'}},'model':{'type':'string'}}},"
    "   'OpenAIEmbeddingsRequest':{'type':'object','required':['input'],'properties':{"
    "     'input':{'description':'an empty array is refused with 400, as the OpenAI API does','oneOf':[{'type':'string'},{'type':'array','items':{'type':'string'},'minItems':1},"
    "        {'type':'array','items':{'type':'integer'},'minItems':1},"
    "        {'type':'array','items':{'type':'array','items':{'type':'integer'}},'minItems':1}]},"
    "     'model':{'type':'string'},"
    "     'encoding_format':{'type':'string','enum':['float','base64'],'default':'float'},"
    "     'dimensions':{'type':'integer','minimum':1,'description':'truncate and renormalise'},"
    "     'user':{'type':'string'},"
    "     'prompt_name':{'type':'string','description':'as on /embed (text input only)'},"
    "     'prompt':{'type':'string','description':'as on /embed (text input only)'}}},"
    "   'OpenAIEmbeddingsResponse':{'type':'object','properties':{"
    "     'object':{'type':'string'},"
    "     'data':{'type':'array','items':{'type':'object','properties':{"
    "        'object':{'type':'string'},'index':{'type':'integer'},"
    "        'embedding':{'oneOf':[{'type':'array','items':{'type':'number'}},{'type':'string','format':'byte'}]}}}},"
    "     'model':{'type':'string'},"
    "     'usage':{'type':'object','properties':{'prompt_tokens':{'type':'integer'},'total_tokens':{'type':'integer'}}}}},"
    "   'Health':{'type':'object','properties':{'status':{'type':'string','enum':['ok','loading']},'device':{'type':'string'}}},"
    "   'Status':{'type':'object','properties':{"
    "     'queue':{'type':'object','properties':{'max_concurrent':{'type':'integer'},'in_flight':{'type':'integer'},"
    "        'available_slots':{'type':'integer'},'waiting_estimate':{'type':'integer'}}},"
    "     'active_jobs':{'type':'array','items':{'type':'object','properties':{"
    "        'id':{'type':'string'},'type':{'type':'string'},'started_at':{'type':'number'},"
    "        'items':{'type':'integer'},'model':{'type':'string'},'progress':{'type':'number'}}}}}},"
    "   'Info':{'type':'object','properties':{"
    "     'device':{'type':'string'},'device_name':{'type':'string'},"
    "     'vram_total_mb':{'type':'number'},'vram_used_mb':{'type':'number'},"
    "     'pytorch_version':{'type':'string'},'cuda_version':{'type':'string','nullable':true},"
    "     'loaded_models':{'type':'array','items':{'type':'string'}},"
    "     'runtime':{'type':'object'},'vulkan_version':{'type':'string'},"
    "     'backends':{'type':'array','items':{'type':'object'}},"
    "     'devices':{'type':'array','items':{'type':'object'}}}},"
    "   'Models':{'type':'object','properties':{'object':{'type':'string'},'data':{'type':'array','items':{'type':'object','properties':{"
    "     'id':{'type':'string'},'object':{'type':'string'},'created':{'type':'integer'},'owned_by':{'type':'string'},'loaded':{'type':'boolean'}}}}}},"
    "   'Detail':{'type':'object','properties':{'detail':{'oneOf':[{'type':'string'},{'type':'array','items':{'type':'object','properties':{"
    "     'loc':{'type':'array','items':{'oneOf':[{'type':'string'},{'type':'integer'}]}},'msg':{'type':'string'},'type':{'type':'string'}}}}]}}},"
    "   'OpenAIError':{'type':'object','properties':{'error':{'type':'object','properties':{"
    "     'message':{'type':'string'},'type':{'type':'string'},'param':{'type':'string','nullable':true},'code':{'type':'string','nullable':true}}}}}},"
    "  'responses':{"
    "   'Unauthorized':{'description':'missing or wrong API key','content':{'application/json':{'schema':{'$ref':'#/components/schemas/Detail'}}}},"
    "   'Invalid':{'description':'validation error','content':{'application/json':{'schema':{'$ref':'#/components/schemas/Detail'}}}},"
    "   'BadRequest':{'description':'bad request (unequal lengths, bad model name)','content':{'application/json':{'schema':{'$ref':'#/components/schemas/Detail'}}}},"
    "   'NotFound':{'description':'unknown model','content':{'application/json':{'schema':{'$ref':'#/components/schemas/Detail'}}}},"
    "   'TooLarge':{'description':'body over the size limit','content':{'application/json':{'schema':{'$ref':'#/components/schemas/Detail'}}}},"
    "   'Busy':{'description':'no compute slot within 1 s; Retry-After: 5','headers':{'Retry-After':{'schema':{'type':'integer'}}},"
    "      'content':{'application/json':{'schema':{'$ref':'#/components/schemas/Detail'}}}},"
    "   'OpenAIError':{'description':'error in the OpenAI shape','content':{'application/json':{'schema':{'$ref':'#/components/schemas/OpenAIError'}}}}}},"
    " 'security':[{'ApiKey':[]}],"
    " 'paths':{"
    "  '/health':{'get':{'summary':'Readiness: 200 once the start-up models are loaded, 503 before','security':[],"
    "    'responses':{'200':{'description':'ready','content':{'application/json':{'schema':{'$ref':'#/components/schemas/Health'}}}},"
    "                 '503':{'description':'loading','content':{'application/json':{'schema':{'$ref':'#/components/schemas/Health'}}}}}}},"
    "  '/info':{'get':{'summary':'Device diagnostics and the GPU inventory',"
    "    'responses':{'200':{'description':'ok','content':{'application/json':{'schema':{'$ref':'#/components/schemas/Info'}}}},'401':{'$ref':'#/components/responses/Unauthorized'}}}},"
    "  '/status':{'get':{'summary':'Compute slots and running jobs with progress',"
    "    'responses':{'200':{'description':'ok','content':{'application/json':{'schema':{'$ref':'#/components/schemas/Status'}}}},'401':{'$ref':'#/components/responses/Unauthorized'}}}},"
    "  '/embed':{'post':{'summary':'Sentence embeddings (sentence-transformers semantics)',"
    "    'requestBody':{'required':true,'content':{'application/json':{'schema':{'$ref':'#/components/schemas/EmbedRequest'}}}},"
    "    'responses':{'200':{'description':'ok','content':{'application/json':{'schema':{'$ref':'#/components/schemas/EmbedResponse'}}}},"
    "      '400':{'$ref':'#/components/responses/BadRequest'},'401':{'$ref':'#/components/responses/Unauthorized'},'404':{'$ref':'#/components/responses/NotFound'},"
    "      '413':{'$ref':'#/components/responses/TooLarge'},'422':{'$ref':'#/components/responses/Invalid'},'503':{'$ref':'#/components/responses/Busy'}}}},"
    "  '/bertscore':{'post':{'summary':'BERTScore precision, recall and F1 (bert_score semantics)',"
    "    'requestBody':{'required':true,'content':{'application/json':{'schema':{'$ref':'#/components/schemas/BertScoreRequest'}}}},"
    "    'responses':{'200':{'description':'ok','content':{'application/json':{'schema':{'$ref':'#/components/schemas/BertScoreResponse'}}}},"
    "      '400':{'$ref':'#/components/responses/BadRequest'},'401':{'$ref':'#/components/responses/Unauthorized'},'404':{'$ref':'#/components/responses/NotFound'},"
    "      '413':{'$ref':'#/components/responses/TooLarge'},'422':{'$ref':'#/components/responses/Invalid'},'503':{'$ref':'#/components/responses/Busy'}}}},"
    "  '/v1/embeddings':{'post':{'summary':'OpenAI-compatible embeddings','security':[{'ApiKey':[]},{'Bearer':[]}],"
    "    'requestBody':{'required':true,'content':{'application/json':{'schema':{'$ref':'#/components/schemas/OpenAIEmbeddingsRequest'}}}},"
    "    'responses':{'200':{'description':'ok','content':{'application/json':{'schema':{'$ref':'#/components/schemas/OpenAIEmbeddingsResponse'}}}},"
    "      '400':{'$ref':'#/components/responses/OpenAIError'},'401':{'$ref':'#/components/responses/OpenAIError'},'404':{'$ref':'#/components/responses/OpenAIError'},"
    "      '413':{'$ref':'#/components/responses/OpenAIError'},'503':{'$ref':'#/components/responses/OpenAIError'}}}},"
    "  '/v1/models':{'get':{'summary':'OpenAI model list: loaded models, then those available under the model folder; 503 while start-up models load','security':[{'ApiKey':[]},{'Bearer':[]}],"
    "    'responses':{'200':{'description':'ok','content':{'application/json':{'schema':{'$ref':'#/components/schemas/Models'}}}},'401':{'$ref':'#/components/responses/OpenAIError'},'503':{'$ref':'#/components/responses/OpenAIError'}}}},"
    "  '/metrics':{'get':{'summary':'Prometheus text format',"
    "    'responses':{'200':{'description':'ok','content':{'text/plain':{'schema':{'type':'string'}}}},'401':{'$ref':'#/components/responses/Unauthorized'}}}},"
    "  '/openapi.json':{'get':{'summary':'This document','responses':{'200':{'description':'ok'}}}},"
    "  '/docs':{'get':{'summary':'Swagger UI over /openapi.json (from its CDN, or --docs-assets)','responses':{'200':{'description':'ok','content':{'text/html':{'schema':{'type':'string'}}}}}}}}}";

char *svc_openapi_build(const char *version, size_t *len)
{
    char *text = strdup(document);
    if (!text)
        return NULL;
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    if (!root)
        return NULL;
    json_object_set_new(json_object_get(root, "info"), "version", json_string(version));
    char *out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (out && len)
        *len = strlen(out);
    return out;
}
