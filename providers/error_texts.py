"""A failed delivery told to the agent in pt-BR: what happened and what to do.

A failure is stored as the provider gave it (Meta's numeric code and English title from a status webhook,
or our own code and pt-BR text from a refused send); the agent reads it through delivery_error_text, which
knows Meta's frequent codes and Evolution's answers. A code it does not know keeps a generic pt-BR
sentence plus the original, so that support can still look the code up.
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

KNOWN = {
    # Meta Cloud API (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
    "131047": _(
        "Passaram-se mais de 24 horas desde a última mensagem do cliente: o WhatsApp só aceita um modelo "
        "aprovado. Envie um modelo para retomar a conversa."
    ),
    "131026": _(
        "A mensagem não pôde ser entregue: o número pode não ter WhatsApp, usar uma versão antiga ou ter "
        "bloqueado a empresa. Confirme o número com o cliente por outro canal."
    ),
    "190": _(
        "O token de acesso da conexão expirou ou é inválido. Peça ao administrador para gerar um novo token "
        "na Meta e atualizá-lo na conexão."
    ),
    "131056": _("Muitas mensagens para este cliente em pouco tempo. Aguarde alguns instantes: o IAZE tenta de novo."),
    "130429": _("O número atingiu o limite de envios da Meta. Aguarde: o IAZE tenta de novo."),
    "368": _(
        "A Meta bloqueou temporariamente o número por violar as políticas do WhatsApp. O administrador deve "
        "ver a qualidade da conta no WhatsApp Manager antes de enviar de novo."
    ),
    "131049": _(
        "A Meta não entregou a mensagem para preservar o engajamento do cliente (limite de mensagens de "
        "marketing). Tente mais tarde ou espere o cliente escrever."
    ),
    "131048": _(
        "Envios limitados por spam: muitas mensagens deste número foram bloqueadas ou denunciadas. Reduza os "
        "envios e revise o conteúdo."
    ),
    "131051": _("O WhatsApp não aceita este tipo de mensagem. Envie em outro formato."),
    "131052": _("A Meta não conseguiu baixar o arquivo do cliente. Peça para ele enviar de novo."),
    "131053": _("A Meta não aceitou o arquivo. Tente outro arquivo ou formato."),
    "131000": _("Erro interno da Meta. Tente enviar de novo em alguns minutos."),
    "131030": _(
        "O número do cliente não está na lista de teste da conta Meta. Adicione-o no painel da Meta ou use "
        "um número de produção."
    ),
    "132000": _("O número de parâmetros não confere com o modelo aprovado. Confira o modelo e envie de novo."),
    "132001": _("O modelo não existe ou não está aprovado neste idioma. Confira os modelos da conexão."),
    "133010": _("O número da conexão não está registrado na Meta. Conclua o registro no WhatsApp Manager."),
    "100": _("A Meta recusou um parâmetro da mensagem. Confira o texto, o arquivo ou o modelo e envie de novo."),
    # Evolution API (and any gateway answering HTTP)
    "evolution_error": _(
        "A Evolution API informou um erro na entrega. Verifique se o número da conexão está conectado "
        "(QR code) e envie de novo."
    ),
    "not_on_whatsapp": _("Este número não tem WhatsApp. Confirme o número com o cliente por outro canal."),
    "connection_closed": _(
        "O WhatsApp da conexão está desconectado. Peça ao administrador para ler o QR code de novo; o IAZE "
        "tenta de novo."
    ),
    "http_401": _(
        "O provedor recusou as credenciais da conexão. Peça ao administrador para conferir o token ou a "
        "chave da conexão."
    ),
    "http_403": _(
        "O provedor recusou as credenciais da conexão. Peça ao administrador para conferir o token ou a "
        "chave da conexão."
    ),
}


def delivery_error_text(code: str, original: str = "") -> str:
    """What the agent reads for a failed delivery (the message's error_code and error_text)."""
    code = (code or "").strip()
    known = KNOWN.get(code)
    if known is not None:
        return str(known)
    if code.isdigit():  # a Meta code we have no text for: Meta's own (English) title stays for support
        text = gettext("A Meta recusou a mensagem (código %(code)s). Se o erro se repetir, fale com o suporte.")
        text %= {"code": code}
        ours = gettext("A Meta recusou a mensagem (código %(code)s).") % {"code": code}
        return f"{text} ({original})" if original and original != ours else text
    if original:  # our own codes (timeout, too_large, http_500…) carry a pt-BR text already
        return original
    if code:
        return gettext("O envio falhou (código %(code)s). Tente de novo; se repetir, fale com o suporte.") % {
            "code": code
        }
    return gettext("O envio falhou por um motivo não informado. Tente de novo.")
