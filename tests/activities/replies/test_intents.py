"""Reply intents: the default classifier (per language, negations, precedence, the subject), the
never-raising `classify_raw`, and `load_classifier` for NURTURE_REPLY_CLASSIFIER."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from activities.replies.cues import ALL_CUES, fold
from activities.replies.intents import (
    CLASSIFIER_ERROR_CUE,
    classify_raw,
    classify_reply,
    load_classifier,
)
from models.replies import Classification, ReplyClassifier, ReplyIntent

INTERESTED = ReplyIntent.INTERESTED
NOT_INTERESTED = ReplyIntent.NOT_INTERESTED
OPT_OUT = ReplyIntent.OPT_OUT
WRONG_PERSON = ReplyIntent.WRONG_PERSON
NEUTRAL = ReplyIntent.NEUTRAL

#: Our outreach as a reply quotes it: its footer says "Unsubscribe" and offers samples.
QUOTED_OUTREACH = (
    "\n\nOn Mon, 9 Nov 2026 at 09:12, Li Wei <li.wei@acme.example.cn> wrote:\n"
    "> Dear buyer, we offer free samples, a price list and a catalogue. MOQ 500 pcs.\n"
    "> Not interested? Unsubscribe: https://mail.example.com/u/abc\n"
)


@pytest.mark.parametrize(
    ("language", "text", "intent"),
    [
        ("en", "Please remove me from your mailing list.", OPT_OUT),
        ("en", "unsubscribe", OPT_OUT),
        ("en", "Stop emailing me.", OPT_OUT),
        ("en", "Not interested, please do not contact us again.", OPT_OUT),
        ("en", "I'm not interested so please remove me", OPT_OUT),
        ("en", "Could you send me your price list and MOQ?", INTERESTED),
        ("en", "Can we set up a call next week?", INTERESTED),
        ("en", "Not interested, thanks.", NOT_INTERESTED),
        ("en", "We already have a supplier.", NOT_INTERESTED),
        ("en", "John left the company last year.", WRONG_PERSON),
        ("en", "I'm not the right person for this.", WRONG_PERSON),
        ("en", "Thanks for your email, I'll review it.", NEUTRAL),
        ("de", "Bitte melden Sie mich ab.", OPT_OUT),
        ("de", "Bitte keine weiteren E-Mails.", OPT_OUT),
        ("de", "Kein Interesse an weiteren E-Mails.", OPT_OUT),
        ("de", "Bitte senden Sie uns ein Angebot für 500 Stück.", INTERESTED),
        ("de", "Kein Interesse.", NOT_INTERESTED),
        ("de", "Herr Müller ist nicht mehr im Unternehmen tätig.", WRONG_PERSON),
        ("de", "Danke, Ihre Nachricht ist angekommen.", NEUTRAL),
        ("fr", "Merci de ne plus m'envoyer de mails.", OPT_OUT),
        ("fr", "Désabonnez-moi.", OPT_OUT),
        ("fr", "Pouvez-vous m'envoyer votre catalogue et vos tarifs ?", INTERESTED),
        ("fr", "Pas intéressé, merci.", NOT_INTERESTED),
        ("fr", "Je ne suis pas la bonne personne.", WRONG_PERSON),
        ("fr", "Bien reçu.", NEUTRAL),
        ("es", "Por favor, denme de baja.", OPT_OUT),
        ("es", "No me envíen más correos.", OPT_OUT),
        ("es", "Envíenme el catálogo y la lista de precios.", INTERESTED),
        ("es", "No me interesa, gracias.", NOT_INTERESTED),
        ("es", "Ya no trabajo en la empresa.", WRONG_PERSON),
        ("es", "Recibido.", NEUTRAL),
        ("zh", "退订", OPT_OUT),
        ("zh", "请不要再给我发邮件了。", OPT_OUT),
        ("zh", "取消订阅", OPT_OUT),
        ("zh", "请发报价单和样品", INTERESTED),
        ("zh", "不感兴趣，谢谢", NOT_INTERESTED),
        ("zh", "他已经离职了。", WRONG_PERSON),
        ("zh", "收到，谢谢。", NEUTRAL),
    ],
)
def test_each_language_has_its_vocabulary(language: str, text: str, intent: ReplyIntent) -> None:
    result = classify_reply(text)
    assert result.intent is intent
    if intent is not NEUTRAL:
        assert result.language == language


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Please do not remove me, I like your mails.", NEUTRAL),
        ("No need to unsubscribe me, just send the price list.", INTERESTED),
        ("Bitte melden Sie mich nicht ab.", NEUTRAL),
        ("Ich möchte mich nicht abmelden, aber schicken Sie uns Muster.", INTERESTED),
        ("Pas besoin de me désabonner, envoyez-moi plutôt vos échantillons.", INTERESTED),
        ("No hace falta darme de baja, mejor mándeme el catálogo.", INTERESTED),
        ("不用退订，请发报价。", INTERESTED),
        ("We don't need samples.", NOT_INTERESTED),
        ("Thanks for the quote, but we went with another supplier.", NOT_INTERESTED),
        ("Vielen Dank für Ihr Angebot, wir haben keinen Bedarf.", NOT_INTERESTED),
    ],
)
def test_negated_and_thanked_for_phrases_do_not_count(text: str, intent: ReplyIntent) -> None:
    assert classify_reply(text).intent is intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I'd appreciate it if you stopped writing to me.", OPT_OUT),
        ("How do I get off this list?", OPT_OUT),
        ("Please don't send any more follow-ups.", OPT_OUT),
        ("Ich bitte um Löschung meiner Daten.", OPT_OUT),
        ("Schicken Sie mir keine Mails mehr.", OPT_OUT),
        ("Je vous prie de ne plus me contacter.", OPT_OUT),
        ("Les pido que eliminen mi dirección de correo.", OPT_OUT),
        ("Favor de no volver a contactarme.", OPT_OUT),
        ("把我们的邮箱删掉，谢谢", OPT_OUT),
        ("We're interested.", INTERESTED),
        ("Envoyez-nous une proposition chiffrée.", INTERESTED),
        ("我在出差，请先把报价发我邮箱。", INTERESTED),
        ("We're not buying anything this quarter.", NOT_INTERESTED),
        ("Danke, das ist nichts für uns.", NOT_INTERESTED),
        ("Ce n'est pas dans nos priorités, merci.", NOT_INTERESTED),
        ("我们不做这个产品。", NOT_INTERESTED),
        ("Herr Schulz arbeitet nicht mehr hier.", WRONG_PERSON),
        ("Vous vous êtes trompé de personne.", WRONG_PERSON),
        ("Ese tema lo maneja otra persona, escriba a ventas@example.mx", WRONG_PERSON),
        ("I'll pass this along internally.", NEUTRAL),
        ("Ihre Mail ist im Spam-Ordner gelandet.", NEUTRAL),
    ],
)
def test_paraphrases_are_recognised_by_their_family(text: str, intent: ReplyIntent) -> None:
    assert classify_reply(text).intent is intent


@pytest.mark.parametrize(
    "text",
    [
        "Please delete my previous email, I attached the wrong file.",
        "Could you knock 5% off the list price?",
        "Please don't send samples yet, just the price list.",
        "Don't send us the catalogue by post, email is fine.",
        "We don't need to receive samples before ordering.",
        "The part was removed from the list of approved items last year.",
        "Your email is spam-filtered here sometimes, FYI.",
        "Wir haben keine Angebote von Ihnen erhalten.",
        "Ich habe keine Informationen zu Ihrer Firma gefunden.",
        "Können Sie mir aus der Liste die Preise für DN50 nennen?",
        "Je n'ai pas de message de votre part concernant le prix.",
        "Pouvez-vous m'envoyer un extrait de votre liste de prix ?",
        "Je voudrais plus d'offres pour comparer.",
        "Buscamos iluminación de baja tensión, ¿tienen catálogo?",
        "La baja demanda este año nos obliga a esperar.",
        "No recibí ningún correo con la cotización.",
        "¿Pueden sacarnos un precio para 500 piezas?",
        "No me envíen las muestras más tarde de mayo.",
        "不用再寄样品了，直接报价吧。",
        "请不要发送样品，先发报价单。",
        "我们不需要收到样品，直接报价。",
        "删除我的上一封邮件，附件错了。",
        # copy lists, edits to a quote, and words that only look like an opt-out
        "Could you remove me from the cc and just send to Anna? She handles the quotes.",
        "Please take me off the cc, Anna will follow up on the quote.",
        "I asked for the logo to be removed from the sample.",
        "My email signature has the old phone number, please remove it.",
        "Please delete the old quote and send an updated one.",
        "We will cease production of the old model; send a quote for the new one.",
        "Stop by our warehouse when you are in Dallas and bring samples.",
        "Unsubstantiated claims aside, send prices.",
        "Bitte streichen Sie Position 3 und schicken Sie ein neues Angebot.",
        "Lassen Sie uns das in Ruhe besprechen.",
        "Ne modifiez pas le design sans notre accord.",
        "Je n'ai jamais donné mon accord pour ce prix.",
        "Nous refusons de recevoir des marchandises sans certificat.",
        "Retirez l'option emballage et refaites le devis.",
        "No autorizo el envío de datos técnicos a terceros.",
        "Ya basta con las muestras, mándenme el precio.",
        "Quiten el logo de la muestra y mándenme la cotización.",
        "请删除包装选项后重新报价。",
        "我的邮箱满了，请删除附件后重发。",
        "停止发货，等我们确认报价。",
        # from the dev set: "don't remove me, but ...", and the buyer's own newsletter footer
        "No need to take me off your list, we just don't need any modules right now.",
        "bitte nicht abmelden – im Moment brauchen wir aber nichts.",
        "Inutile de me désinscrire, mais pour l'instant ça ne nous intéresse pas.",
        "No hace falta que me den de baja, pero ahora mismo no necesitamos nada.",
        "不用把我移出名单，只是目前酒店没有翻新计划，暂时用不上。",
        "Thanks, received.\nIf you no longer wish to receive our trade newsletter, reply STOP.",
        "邮件已收到。\n赵敏\n如不希望再收到本公司新品推荐，请回复“退订”。",
        "Recibido. Si no desea recibir más comunicaciones nuestras, responda BAJA.",
        "Danke. Wenn Sie keine Newsletter mehr erhalten möchten, klicken Sie auf Abmelden.",
        # the families' look-alikes: removals that are updates, copies, products
        "Please remove me from the cc list, Anna handles the quotes.",
        "Please delete my old address from your system and use the new one: li@example.com",
        "Löschen Sie bitte meine alte Adresse aus dem System, die neue lautet a@example.de.",
        "We will cease the old product line; send the new catalogue.",
        "Stop!\n\nPlease quote 500 pcs before you ship anything.",
    ],
)
def test_look_alikes_are_not_opt_outs(text: str) -> None:
    assert classify_reply(text).intent is not OPT_OUT


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Could you remove me from the cc and just send to Anna going forward?", NEUTRAL),
        ("¿Puede poner a mi compañera en copia?", NEUTRAL),
        ("Pouvez-vous mettre ma collègue en copie ?", NEUTRAL),
        ("Je vais voir avec mon équipe.", NEUTRAL),
        ("I'm on parental leave until 3 March, back after that.", NEUTRAL),
        ("Ich bin bis 15.01. in Elternzeit, danach wieder erreichbar.", NEUTRAL),
        ("Je suis en congé parental jusqu'au 2 février. Je vous répondrai à mon retour.", NEUTRAL),
        ("Herr Wolf ist in Karenz, bitte wenden Sie sich an Herrn Brandl.", WRONG_PERSON),
        ("No necesito muestras, solo el precio por 5000 piezas.", INTERESTED),
        ("Pas besoin d'échantillon, juste le prix pour 10 000 pièces.", INTERESTED),
        ("不需要目录，请报M10的价格。", INTERESTED),
        ("We have a supplier, but send your prices anyway.", INTERESTED),
    ],
)
def test_copy_requests_leave_and_no_but_just_look_alikes(text: str, intent: ReplyIntent) -> None:
    assert classify_reply(text).intent is intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # polite and regional ways of saying no
        ("Thanks, we'll keep you on file should anything change.", NOT_INTERESTED),
        ("This isn't a priority for us this year.", NOT_INTERESTED),
        ("Our needs are covered at the moment.", NOT_INTERESTED),
        ("Budget is frozen until further notice.", NOT_INTERESTED),
        ("Pass.", NOT_INTERESTED),
        ("We'll stick with our existing supplier, thanks.", NOT_INTERESTED),
        ("We manufacture these ourselves.", NOT_INTERESTED),
        ("Grüezi, wir sind bereits gut eingedeckt. Merci.", NOT_INTERESTED),
        ("Unser Bedarf ist derzeit vollständig gedeckt.", NOT_INTERESTED),
        ("Nous ne donnerons pas suite, merci.", NOT_INTERESTED),
        ("Votre offre ne correspond pas à nos besoins.", NOT_INTERESTED),
        ("Por ahora no, gracias.", NOT_INTERESTED),
        ("Ya tenemos quien nos surta.", NOT_INTERESTED),
        ("我们有固定供应商了。", NOT_INTERESTED),
        ("今年预算已经冻结了。", NOT_INTERESTED),
        # wrong person
        ("I handle logistics, not purchasing.", WRONG_PERSON),
        ("Mark doesn't work here anymore.", WRONG_PERSON),
        ("George moved on a few months ago.", WRONG_PERSON),
        ("Herr Bauer ist seit Oktober in Pension.", WRONG_PERSON),
        ("Dafür ist unsere Zentrale in Wien zuständig.", WRONG_PERSON),
        ("Cette adresse n'est plus consultée.", WRONG_PERSON),
        ("Ya no estoy a cargo de compras.", WRONG_PERSON),
        ("这个邮箱已经不用了。", WRONG_PERSON),
        ("张小姐已调到其他部门。", WRONG_PERSON),
        # opt-out, informal and legal
        ("unsub", OPT_OUT),
        ("Please unsubcribe me from this list", OPT_OUT),
        ("How did you get my address? Remove it please.", OPT_OUT),
        ("This is the fourth email. Please stop.", OPT_OUT),
        ("Enough with the emails already.", OPT_OUT),
        ("Put me on your do-not-contact list.", OPT_OUT),
        ("Woher haben Sie meine Adresse? Bitte löschen.", OPT_OUT),
        ("Lassen Sie mich in Ruhe!", OPT_OUT),
        ("STOP aux mails svp", OPT_OUT),
        ("Je m'oppose au traitement de mes données.", OPT_OUT),
        ("Solicito la eliminación de mis datos personales conforme al RGPD.", OPT_OUT),
        ("Stop, por favor.", OPT_OUT),
        ("你们怎么有我邮箱的？请删除。", OPT_OUT),
        ("别再骚扰我了。", OPT_OUT),
    ],
)
def test_general_families_of_no_wrong_person_and_opt_out(text: str, intent: ReplyIntent) -> None:
    assert classify_reply(text).intent is intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # wordings no phrase lists, met by their family of stems
        ("Please discontinue these promotional mailings.", OPT_OUT),
        ("Kindly cease all further correspondence to this address.", OPT_OUT),
        ("Purge my details from your CRM system, thanks.", OPT_OUT),
        ("This inbox should not receive these.", OPT_OUT),
        ("Bitte ab sofort keine Info-Mails mehr an diese Adresse.", OPT_OUT),
        ("Entfernen Sie bitte meine Adresse aus Ihrer Kundenkartei.", OPT_OUT),
        ("Cessez vos envois publicitaires, merci.", OPT_OUT),
        ("Suspendan sus envíos, por favor.", OPT_OUT),
        ("以后不必再给我发这些了。", OPT_OUT),
        ("STOP\n\nJean Dubois\nDubois Énergies\n06 55 50 77 21", OPT_OUT),
        ("We decided to stick with a local competitor.", NOT_INTERESTED),
        ("Derzeit suchen wir leider nichts in dem Bereich.", NOT_INTERESTED),
        ("Nous collaborons depuis dix ans avec un atelier lyonnais.", NOT_INTERESTED),
        ("Al final optamos por otra marca.", NOT_INTERESTED),
        ("我们已经决定改用别家的产品了。", NOT_INTERESTED),
        ("She resigned from the company in March.", WRONG_PERSON),
        ("That is outside my area of responsibility.", WRONG_PERSON),
        ("Das fällt nicht in meinen Zuständigkeitsbereich.", WRONG_PERSON),
        ("M. Girard a pris sa retraite.", WRONG_PERSON),
    ],
)
def test_unlisted_wordings_meet_their_family(text: str, intent: ReplyIntent) -> None:
    result = classify_reply(text)
    assert result.intent is intent, result
    assert result.cue


@pytest.mark.parametrize(
    "text",
    [
        "If you don't stop emailing me I will report you as spam.",
        "Wenn Sie nicht aufhören, mir zu schreiben, zeige ich Sie an.",
        "I'd appreciate it if you stopped writing to me.",
    ],
)
def test_a_condition_without_a_wish_is_no_instruction(text: str) -> None:
    # the footer guard ("if you no longer wish to receive ..., reply STOP") needs a wish
    assert classify_reply(text).intent is OPT_OUT


def test_one_phrase_matched_in_many_languages_counts_once() -> None:
    # "Stop" is an opt-out cue in every language: typed as a subject it stays weak evidence.
    assert classify_reply("Please send the catalogue.", subject="Stop").intent is INTERESTED


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Not interested. Stop sending me emails.", OPT_OUT),
        ("Please send no more samples or price lists, remove me.", OPT_OUT),
        ("I left the company, please take me off your list.", OPT_OUT),
        ("We have a supplier, but please quote 5,000 pcs CIF Hamburg.", INTERESTED),
        ("Thanks for the catalogue, but we are not interested.", NOT_INTERESTED),
        ("I'm not responsible for LEDs; my colleague may well be interested.", WRONG_PERSON),
        ("I am out of the office until Monday; for urgent matters contact my colleague.", NEUTRAL),
    ],
)
def test_precedence_between_intents(text: str, intent: ReplyIntent) -> None:
    assert classify_reply(text).intent is intent


@pytest.mark.parametrize(
    ("new_text", "intent"),
    [
        ("Thanks, noted.", NEUTRAL),
        ("We are not interested at the moment.", NOT_INTERESTED),
        ("", NEUTRAL),
    ],
)
def test_our_quoted_footer_and_offer_do_not_count(new_text: str, intent: ReplyIntent) -> None:
    result = classify_raw(new_text + QUOTED_OUTREACH, subject="Re: Samples and price list")
    assert result.intent is intent


def test_a_subject_the_person_typed_counts_weakly() -> None:
    typed = classify_reply("", subject="Unsubscribe")
    assert typed.intent is OPT_OUT
    assert typed.confidence < classify_reply("Unsubscribe").confidence
    for ours in ("Re: Unsubscribe", "AW: Abmelden", "回复：退订", "Automatic reply: Samples"):
        assert classify_reply("", subject=ours).intent is NEUTRAL
    # the body decides over a subject the person typed
    assert classify_reply("Please send the catalogue.", subject="Stop").intent is INTERESTED


def test_wrong_person_names_the_first_address_in_the_new_text() -> None:
    text = (
        "I'm no longer with ACME. Please write to Jane.Doe@ACME.example.com "
        "or purchasing@acme.example.com."
    )
    assert classify_reply(text).referred_email == "jane.doe@acme.example.com"
    body = "Ich bin nicht zuständig.\n\nGrüße\nHans\nhans@firma.example.de" + QUOTED_OUTREACH
    result = classify_raw(body)
    assert (result.intent, result.referred_email) == (WRONG_PERSON, None)
    assert classify_reply("Not interested, bob@example.com").referred_email is None
    assert classify_reply("He left the company: bob@@x, a@b").referred_email is None


def test_a_classification_says_what_decided_it() -> None:
    result = classify_reply("Hello,\n\nplease REMOVE me from your list. My name is Mr Smith.")
    assert result.intent is OPT_OUT
    assert result.cue == "remove me"
    assert result.language == "en"
    assert 0.9 <= result.confidence <= 0.99
    unknown = classify_reply("Спасибо, получили.")
    assert (unknown.intent, unknown.confidence, unknown.cue, unknown.language) == (
        NEUTRAL,
        0.5,
        None,
        None,
    )


def test_competing_cues_lower_the_confidence() -> None:
    clear = classify_reply("Please send the price list.")
    mixed = classify_reply("We have a supplier, but please send the price list.")
    assert mixed.intent is clear.intent is INTERESTED
    assert mixed.confidence < clear.confidence


def test_matching_ignores_case_accents_and_typographic_quotes() -> None:
    assert classify_reply("DÉSABONNEZ-MOI").intent is OPT_OUT
    assert classify_reply("desabonnez-moi").intent is OPT_OUT
    assert classify_reply("Please don’t email me again").intent is OPT_OUT
    assert classify_reply("BITTE KEINE WEITEREN E-MAILS").intent is OPT_OUT
    assert classify_reply("ＳＴＯＰ").intent is OPT_OUT  # full-width forms


def test_vocabulary_is_written_in_folded_form() -> None:
    for cue in ALL_CUES:
        bare = re.sub(r"\\.", "", cue.phrase)
        assert fold(bare) == " ".join(bare.split()), cue.phrase
        assert 0 < cue.weight <= 1


def test_a_huge_new_text_is_classified_from_its_start() -> None:
    result = classify_reply("Please unsubscribe me. " + "blah " * 6_000_000)
    assert result.intent is OPT_OUT


# --- classify_raw and plug-ins --------------------------------------------------------------


def raising_classifier(text: str, *, subject: str = "") -> Classification:
    raise RuntimeError(f"model down for {text!r}")


def constant_classifier(text: str, *, subject: str = "") -> Classification:
    return Classification(intent=INTERESTED, confidence=0.7, cue="model")


def misbehaving_classifier(text: str, *, subject: str = "") -> Classification:
    return "interested"  # type: ignore[return-value]


class Model:
    @staticmethod
    def classify(text: str, *, subject: str = "") -> Classification:
        return constant_classifier(text, subject=subject)


NOT_CALLABLE = 42


def test_classify_raw_extracts_then_classifies() -> None:
    result = classify_raw("Please remove me.\n\nBest regards,\nJohn" + QUOTED_OUTREACH)
    assert (result.intent, result.cue) == (OPT_OUT, "remove me")
    seen: list[tuple[str, str]] = []

    def spy(text: str, *, subject: str = "") -> Classification:
        seen.append((text, subject))
        return constant_classifier(text, subject=subject)

    assert classify_raw("Yes!" + QUOTED_OUTREACH, subject="Re: x", classifier=spy).cue == "model"
    assert seen == [("Yes!", "Re: x")]


@pytest.mark.parametrize("plugin", [raising_classifier, misbehaving_classifier])
def test_a_failing_plug_in_gives_neutral_and_logs_only_the_error_type(
    plugin: ReplyClassifier,
) -> None:
    with capture_logs() as logs:
        result = classify_raw("Secret reply text", subject="Secret subject", classifier=plugin)
    assert (result.intent, result.cue, result.confidence) == (NEUTRAL, CLASSIFIER_ERROR_CUE, 0.0)
    assert len(logs) == 1
    assert logs[0]["error_type"] in {"RuntimeError", "TypeError"}
    assert "Secret" not in repr(logs)


def test_load_classifier_defaults_to_the_rules() -> None:
    assert load_classifier("") is classify_reply
    assert load_classifier("  ") is classify_reply


def test_load_classifier_imports_a_callable() -> None:
    module = "tests.activities.replies.test_intents"
    assert load_classifier(f"{module}:constant_classifier") is constant_classifier
    assert load_classifier(f"{module}:Model.classify")("x").cue == "model"
    assert classify_raw("x", classifier=load_classifier(f"{module}:raising_classifier")).cue == (
        CLASSIFIER_ERROR_CUE
    )


@pytest.mark.parametrize(
    "spec",
    [
        "no_colon_here",
        "tests.activities.replies.test_intents:",
        ":classify",
        "tests.activities.replies.does_not_exist:classify",
        "tests.activities.replies.test_intents:missing",
        "tests.activities.replies.test_intents:NOT_CALLABLE",
    ],
)
def test_load_classifier_names_a_bad_spec(spec: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(spec.strip()))):
        load_classifier(spec)


@settings(max_examples=200, deadline=None)
@given(text=st.text(), subject=st.text(max_size=300))
def test_classify_raw_never_raises(text: str, subject: str) -> None:
    result = classify_raw(text, subject=subject)
    assert isinstance(result, Classification)
    assert result.intent in set(ReplyIntent) - {ReplyIntent.AUTO_REPLY}
    assert 0.0 <= result.confidence <= 1.0
    assert result.cue is None or len(result.cue) <= 200
    Classification.model_validate_json(result.model_dump_json())


#: Pieces of mail that steer extraction and classification down their less common paths.
MAIL_PIECES = (
    "> ",
    "On ",
    " wrote:",
    "-- \n",
    "\n",
    "发件人：",
    "退订",
    "not ",
    "remove me",
    "@",
    ".",
)


@settings(max_examples=200, deadline=None)
@given(text=st.lists(st.sampled_from(MAIL_PIECES) | st.text(max_size=20), max_size=40).map("".join))
def test_classify_raw_never_raises_on_mail_shaped_text(text: str) -> None:
    assert isinstance(classify_raw(text), Classification)
