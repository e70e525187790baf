"""Numbers as Brazil writes them, and CPF/CNPJ check digits (accounts.phones, accounts.documents): pure functions."""

import pytest

from accounts import documents, phones


@pytest.mark.parametrize(
    "typed",
    [
        "+55 (11) 98765-4321",
        "11987654321",
        "5511987654321",
        "(11) 98765-4321",
        "(11) 8765-4321",  # the same mobile without its ninth digit
        "551187654321",
        "0055 11 98765 4321",
        "(011) 98765-4321",
        "'+55 11 98765-4321",  # a spreadsheet's text mark
        "11.98765.4321",
    ],
)
def test_every_common_form_of_a_mobile_is_one_canonical_number(typed):
    assert phones.normalize(typed) == "5511987654321"


def test_landlines_and_foreign_numbers_keep_their_digits():
    assert phones.normalize("(31) 3265-4321") == "553132654321"
    assert phones.normalize("+1 650 555 1234") == "16505551234"
    assert phones.br_variants("553132654321") == {"553132654321"}
    assert phones.br_variants("16505551234") == {"16505551234"}


def test_a_mobile_has_two_forms_and_the_canonical_one_has_the_ninth_digit():
    assert phones.br_variants("553187654321") == {"553187654321", "5531987654321"}
    assert phones.br_variants("5531987654321") == {"553187654321", "5531987654321"}
    assert phones.canonical("553187654321") == "5531987654321"
    assert phones.display("553187654321") == "+55 31 8765-4321"
    assert phones.display("5531987654321") == "+55 31 98765-4321"
    assert phones.display("16505551234") == "+16505551234"


@pytest.mark.parametrize(
    "typed, reason",
    [
        ("", "Informe o número."),
        ("abc 1234", "só pode ter dígitos"),
        ("98765-4321", "Informe o DDD"),
        ("(11) 1234-5678", "8 dígitos começa com 2 a 9"),
        ("11 887654321", "9 dígitos começa com 9"),
        ("(01) 3265-4321", "DDD inválido: 01"),
        ("+55 11 1234", "DDD e 8 ou 9 dígitos"),
        ("+1 234", "de 8 a 15 dígitos"),
        ("123", "quantidade de dígitos"),
        ("11 9876+54321", "O + só vale no começo"),
    ],
)
def test_what_is_not_a_number_is_refused_with_the_reason(typed, reason):
    with pytest.raises(phones.PhoneRejected) as caught:
        phones.normalize(typed)
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("529.982.247-25", "52998224725"),
        ("52998224725", "52998224725"),
        ("11.222.333/0001-81", "11222333000181"),
        ("12.ABC.345/01DE-35", "12ABC34501DE35"),  # the alphanumeric CNPJ (2026)
        ("12abc34501de35", "12ABC34501DE35"),
        ("", ""),
    ],
)
def test_valid_documents_are_stored_without_punctuation(typed, stored):
    assert documents.normalize(typed) == stored


@pytest.mark.parametrize(
    "typed, reason",
    [
        ("529.982.247-24", "CPF inválido"),
        ("111.111.111-11", "CPF inválido"),
        ("11.222.333/0001-82", "CNPJ inválido"),
        ("12.ABC.345/01DE-36", "CNPJ inválido"),
        ("12.ABC.345/01DE-3X", "CNPJ alfanumérico"),
        ("1234567", "11 dígitos"),
    ],
)
def test_a_wrong_document_is_refused_with_the_reason(typed, reason):
    with pytest.raises(documents.DocumentRejected) as caught:
        documents.normalize(typed)
    assert reason in caught.value.reason


def test_the_alphanumeric_cnpj_check_digits_use_ord_minus_48():
    # First digit over "12ABC34501DE": each character worth ord(c) - 48, weights 5,4,3,2,9,8,7,6,5,4,3,2.
    values = [ord(c) - 48 for c in "12ABC34501DE"]
    total = sum(v * w for v, w in zip(values, (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), strict=True))
    first = 0 if total % 11 < 2 else 11 - total % 11
    assert first == 3
    assert documents.cnpj_valid("12ABC34501DE35")
    assert documents.display("12ABC34501DE35") == "12.ABC.345/01DE-35"
    assert documents.display("52998224725") == "529.982.247-25"
